using RobustCli.Core.Registry;

namespace RobustCli.Core.Data;

/// <summary>A dataset RobustCli knows: its file names per split and how to read them (the dataset registration).</summary>
public sealed record DatasetSpec(string Name, string Description, string[] TrainFiles, string[] TestFiles,
    Func<string, IReadOnlyList<string>, ImageDataset> Read, int Channels, int Size, int NumClasses, double[] Mean, double[] Std,
    string HowToGet) : IRegistration
{
    public OptionDeclaration Options => OptionDeclaration.None;
    /// <summary>Images in the published training split (a config's val_size must be smaller).</summary>
    public int? TrainCount { get; init; }
}

/// <summary>
/// Finds and reads datasets from local files in their published formats. Search order: an explicit path,
/// then datasets/&lt;name&gt;/ under the repository, then /usr/share/datasets/&lt;name&gt;/ (Debian's dataset packages).
/// Each folder is also searched one level down, for archives unpacked as published (cifar-10-batches-bin/).
/// </summary>
public static class DatasetCatalog
{
    private static readonly string[] IdxTrain = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"];
    private static readonly string[] IdxTest = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    public static readonly Registry<DatasetSpec> Registry = new("dataset",
    [
        new("fashion-mnist", "Fashion-MNIST (IDX, gzipped or not)", IdxTrain, IdxTest,
            (n, f) => IdxReader.Load(n, f[0], f[1]), 1, 28, 10, [0.2860], [0.3530],
            "apt-get install dataset-fashion-mnist (installs /usr/share/datasets/fashion-mnist), or put the four IDX files from github.com/zalandoresearch/fashion-mnist in datasets/fashion-mnist/") { TrainCount = 60000 },
        new("mnist", "MNIST (IDX, gzipped or not)", IdxTrain, IdxTest,
            (n, f) => IdxReader.Load(n, f[0], f[1]), 1, 28, 10, [0.1307], [0.3081],
            "put the four IDX files of MNIST (train-images-idx3-ubyte.gz, ...) in datasets/mnist/") { TrainCount = 60000 },
        new("cifar10", "CIFAR-10, binary version", ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"], ["test_batch.bin"],
            (n, f) => CifarReader.Load(n, f, cifar100: false), 3, 32, 10, [0.4914, 0.4822, 0.4465], [0.2471, 0.2435, 0.2616],
            "unpack cifar-10-binary.tar.gz (www.cs.toronto.edu/~kriz/cifar.html) into datasets/cifar10/") { TrainCount = 50000 },
        new("cifar100", "CIFAR-100, binary version", ["train.bin"], ["test.bin"],
            (n, f) => CifarReader.Load(n, f, cifar100: true), 3, 32, 100, [0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762],
            "unpack cifar-100-binary.tar.gz (www.cs.toronto.edu/~kriz/cifar.html) into datasets/cifar100/") { TrainCount = 50000 },
        new("svhn", "SVHN cropped digits (.mat)", ["train_32x32.mat"], ["test_32x32.mat"],
            (n, f) => SvhnReader.Load(n, f[0]), 3, 32, 10, [0.4377, 0.4438, 0.4728], [0.1980, 0.2010, 0.1970],
            "put train_32x32.mat and test_32x32.mat (ufldl.stanford.edu/housenumbers) in datasets/svhn/") { TrainCount = 73257 },
    ]);

    public static IReadOnlyList<DatasetSpec> All => Registry.All;

    public static DatasetSpec Get(string name) =>
        Registry.TryGet(name, out var d) ? d : throw new DatasetNotFoundException(
            $"unknown dataset '{name}'{Levenshtein.Suggest(name, Registry.Names)} Known: {string.Join(", ", Registry.Names)}");

    /// <summary>The folders searched for a dataset, in order.</summary>
    public static IReadOnlyList<string> SearchFolders(string name, string? explicitPath, string? repoRoot)
    {
        var folders = new List<string>();
        if (!string.IsNullOrEmpty(explicitPath)) folders.Add(Path.GetFullPath(explicitPath));
        if (repoRoot != null) folders.Add(Path.Combine(repoRoot, "datasets", name));
        folders.Add(Path.Combine("/usr/share/datasets", name));
        return folders;
    }

    /// <summary>Reads the train or test split; a missing file names every place searched and what was expected.</summary>
    public static ImageDataset Load(string name, bool train, string? explicitPath = null, string? repoRoot = null)
    {
        var spec = Get(name);
        var wanted = train ? spec.TrainFiles : spec.TestFiles;
        var searched = new List<string>();
        foreach (var folder in SearchFolders(name, explicitPath, repoRoot))
        {
            var candidates = new List<string> { folder };
            if (Directory.Exists(folder)) candidates.AddRange(Directory.GetDirectories(folder).OrderBy(d => d, StringComparer.Ordinal));
            foreach (var dir in candidates)
            {
                searched.Add(dir);
                var files = wanted.Select(f => Resolve(dir, f)).ToList();
                if (files.All(f => f != null)) return spec.Read($"{name}/{(train ? "train" : "test")}", files!);
            }
        }
        throw new DatasetNotFoundException(
            $"dataset '{name}' ({spec.Description}, {(train ? "training" : "test")} split) not found.\n" +
            $"  searched: {string.Join(", ", searched.Distinct())}\n" +
            $"  expected files: {string.Join(", ", wanted)} (a .gz suffix is accepted for IDX files)\n" +
            $"  to provide it: {spec.HowToGet}; or set data.path in the config to the folder that holds them.");
    }

    private static string? Resolve(string dir, string file)
    {
        var p = Path.Combine(dir, file);
        if (File.Exists(p)) return p;
        return File.Exists(p + ".gz") ? p + ".gz" : null;
    }
}

public sealed class DatasetNotFoundException(string message) : Exception(message);
