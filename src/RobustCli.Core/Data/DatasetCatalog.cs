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
    /// <summary>A folder of pictures of any size (denoising sets) rather than a fixed-size labelled set.</summary>
    public PictureLayout? Pictures { get; init; }
    /// <summary>A domain-knowledge grouping of the classes (GAT's macro task), where the dataset has one.</summary>
    public MacroClasses? Macro { get; init; }
    /// <summary>
    /// Published models of it usually standardize their inputs with <see cref="Mean"/> and <see cref="Std"/> (CIFAR's
    /// RobustBench models): a weights file that brings no normalization is worth a warning.
    /// </summary>
    public bool UsuallyStandardized { get; init; }
}

/// <summary>
/// Where a picture set's images are: files in the dataset's folder (any PNG/JPEG/BMP, any size), the split(s) it
/// offers, and the test set a training-only set is paired with by default. An embedded set names its files in a
/// fixed folder instead (scikit-image's photographs).
/// </summary>
public sealed record PictureLayout(int Channels, bool HasTrain, bool HasTest, string? DefaultTest = null)
{
    /// <summary>Other folder names searched (set68 is also published as bsd68).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>A folder that always holds the set (an installed package's data), searched after the usual places.</summary>
    public string? FixedFolder { get; init; }
    /// <summary>For a set inside a folder of other files: the training and test file names.</summary>
    public IReadOnlyList<string>? TrainFiles { get; init; }
    public IReadOnlyList<string>? TestFiles { get; init; }
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
            "apt-get install dataset-fashion-mnist (installs /usr/share/datasets/fashion-mnist), or put the four IDX files from github.com/zalandoresearch/fashion-mnist in datasets/fashion-mnist/")
        {
            TrainCount = 60000,
            // Ours (the paper has none for Fashion-MNIST): garments, footwear (sandal, sneaker, ankle boot), bags.
            Macro = new([0, 0, 0, 0, 0, 1, 0, 1, 2, 1], ["garment", "footwear", "bag"]),
        },
        new("mnist", "MNIST (IDX, gzipped or not)", IdxTrain, IdxTest,
            (n, f) => IdxReader.Load(n, f[0], f[1]), 1, 28, 10, [0.1307], [0.3081],
            "put the four IDX files of MNIST (train-images-idx3-ubyte.gz, ...) in datasets/mnist/") { TrainCount = 60000 },
        new("cifar10", "CIFAR-10, binary version", ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"], ["test_batch.bin"],
            (n, f) => CifarReader.Load(n, f, cifar100: false), 3, 32, 10, [0.4914, 0.4822, 0.4465], [0.2471, 0.2435, 0.2616],
            "unpack cifar-10-binary.tar.gz (www.cs.toronto.edu/~kriz/cifar.html) into datasets/cifar10/")
        {
            TrainCount = 50000,
            UsuallyStandardized = true,
            // The official GAT grouping: airplane, automobile, ship, truck are vehicles; the six animals the other group.
            Macro = new([0, 0, 1, 1, 1, 1, 1, 1, 0, 0], ["vehicle", "animal"]),
        },
        new("cifar100", "CIFAR-100, binary version", ["train.bin"], ["test.bin"],
            (n, f) => CifarReader.Load(n, f, cifar100: true), 3, 32, 100, [0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762],
            "unpack cifar-100-binary.tar.gz (www.cs.toronto.edu/~kriz/cifar.html) into datasets/cifar100/")
        {
            TrainCount = 50000,
            UsuallyStandardized = true,
            // CIFAR-100's 20 superclasses (the coarse labels, as GAT's CIFAR100_Dataset maps them).
            Macro = new([4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
                0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
                10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19, 5, 5, 8, 19,
                18, 1, 2, 15, 6, 0, 17, 8, 14, 13],
                ["aquatic mammals", "fish", "flowers", "food containers", "fruit and vegetables", "household electrical devices",
                 "household furniture", "insects", "large carnivores", "large man-made outdoor things", "large natural outdoor scenes",
                 "large omnivores and herbivores", "medium-sized mammals", "non-insect invertebrates", "people", "reptiles",
                 "small mammals", "trees", "vehicles 1", "vehicles 2"]),
        },
        new("svhn", "SVHN cropped digits (.mat)", ["train_32x32.mat"], ["test_32x32.mat"],
            (n, f) => SvhnReader.Load(n, f[0]), 3, 32, 10, [0.4377, 0.4438, 0.4728], [0.1980, 0.2010, 0.1970],
            "put train_32x32.mat and test_32x32.mat (ufldl.stanford.edu/housenumbers) in datasets/svhn/") { TrainCount = 73257 },
        Folder("bsd400", "BSD400 / Train400: 400 gray 180x180 training images (DnCNN's gray training set)", new(1, true, false, "set68") { Aliases = ["train400"] },
            "copy the 400 PNGs of Train400 (github.com/cszn/DnCNN, TrainingCodes/DnCNN_TrainingCodes_v1.0/data/Train400) into datasets/bsd400/"),
        Folder("cbsd432", "CBSD432: the 432 colour BSD500 images outside CBSD68 (colour training set)", new(3, true, false, "cbsd68"),
            "copy the 432 colour images of BSD500 not in CBSD68 (github.com/cszn/DnCNN, or BSR_bsds500 train+val+test minus CBSD68) into datasets/cbsd432/"),
        Folder("set12", "Set12: 12 gray test images (cameraman, house, peppers, ...)", new(1, false, true),
            "copy the 12 PNGs of Set12 (github.com/cszn/DnCNN, testsets/Set12) into datasets/set12/"),
        Folder("set68", "Set68 / BSD68: 68 gray 481x321 test images of BSD", new(1, false, true) { Aliases = ["bsd68"] },
            "copy the 68 PNGs of BSD68 (github.com/cszn/DnCNN, testsets/BSD68) into datasets/set68/"),
        Folder("cbsd68", "CBSD68: the colour versions of BSD68", new(3, false, true),
            "copy the 68 colour PNGs of CBSD68 (github.com/cszn/DnCNN or github.com/clausmichele/CBSD68-dataset, original_png) into datasets/cbsd68/"),
        Folder("kodak24", "Kodak24: 24 colour 768x512 photographs (Kodak PhotoCD)", new(3, false, true),
            "copy kodim01.png ... kodim24.png (r0k.us/graphics/kodak) into datasets/kodak24/"),
        Folder("skimage-photos", "natural photographs shipped with scikit-image, split into 8 training and 4 test pictures (gray; channels: 3 for colour)",
            new(1, true, true)
            {
                FixedFolder = "/usr/lib/python3/dist-packages/skimage/data",
                TrainFiles = ["astronaut.png", "brick.png", "chelsea.png", "coffee.png", "grass.png", "ihc.png", "motorcycle_left.png", "rocket.jpg"],
                TestFiles = ["camera.png", "coins.png", "gravel.png", "moon.png"],
            },
            "apt-get install python3-skimage (installed by scripts/setup.sh; its data folder holds the photographs), or copy those files into datasets/skimage-photos/"),
    ]);

    private static DatasetSpec Folder(string name, string description, PictureLayout layout, string howToGet) =>
        new(name, description, [], [], (_, _) => throw new InvalidOperationException($"{name} is a folder of pictures: load it with LoadPictures"),
            layout.Channels, 0, 1, [0.0], [1.0], howToGet) { Pictures = layout };

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

    /// <summary>
    /// The pictures of a picture set's split, sorted by file name, as <paramref name="channels"/> channels (0: the
    /// set's own). A missing set names every folder searched and how to provide it.
    /// </summary>
    public static IReadOnlyList<Picture> LoadPictures(string name, bool train, int channels = 0, string? explicitPath = null, string? repoRoot = null)
    {
        var spec = Get(name);
        var layout = spec.Pictures ?? throw new ArgumentException($"{name} is not a folder of pictures");
        if (train ? !layout.HasTrain : !layout.HasTest)
            throw new DatasetNotFoundException($"dataset '{name}' has no {(train ? "training" : "test")} pictures" +
                                               (train ? "" : $"; name a test set with data.test_set (e.g. {layout.DefaultTest ?? "set68"})"));
        var named = train ? layout.TrainFiles : layout.TestFiles;
        var folders = new List<string>();
        foreach (var n in layout.Aliases.Prepend(name).Distinct())
            foreach (var f in SearchFolders(n, explicitPath, repoRoot)) if (!folders.Contains(f)) folders.Add(f);
        if (layout.FixedFolder != null) folders.Add(layout.FixedFolder);
        var searched = new List<string>();
        foreach (var folder in folders)
        {
            var candidates = new List<string> { folder };
            if (Directory.Exists(folder)) candidates.AddRange(Directory.GetDirectories(folder).OrderBy(d => d, StringComparer.Ordinal));
            foreach (var dir in candidates)
            {
                searched.Add(dir);
                if (!Directory.Exists(dir)) continue;
                List<string> files;
                if (named != null)
                {
                    files = named.Select(f => Path.Combine(dir, f)).ToList();
                    if (!files.All(File.Exists)) continue;
                }
                else
                {
                    files = Directory.GetFiles(dir).Where(ImageCodec.IsImage).OrderBy(f => f, StringComparer.Ordinal).ToList();
                    if (files.Count == 0) continue;
                }
                return files.Select(f =>
                {
                    try { return ImageCodec.Read(f, channels == 0 ? layout.Channels : channels); }
                    catch (InvalidDataException e) { throw new DatasetNotFoundException($"dataset '{name}': {e.Message}"); }
                }).ToList();
            }
        }
        throw new DatasetNotFoundException(
            $"dataset '{name}' ({spec.Description}, {(train ? "training" : "test")} pictures) not found.\n" +
            $"  searched: {string.Join(", ", searched.Distinct())}\n" +
            $"  expected: {(named != null ? string.Join(", ", named) : "image files (" + string.Join(", ", ImageCodec.Extensions) + ")")}\n" +
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
