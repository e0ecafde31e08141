using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Runs;
using RobustCli.Tests.Shared;

namespace RobustCli.Experiments.Tests;

/// <summary>A CIFS run end to end: its columns, the joint-loss evaluation, resume, and the config's checks.</summary>
public sealed class CifsRunTests
{
    private static JobOptions Options(string runs, CancellationToken cancel = default, Func<Serilog.ILogger, IProgressReporter>? progress = null) =>
        new(runs, TestPaths.RepoRoot, new StringWriter(), progress, LogToConsole: true, cancel);

    public static string Config(string data, int epochs = 3) =>
        TinyData.Config(data, "cifs", epochs).Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: cifs-resnet18, width: 8, normalize: none}")
            .Replace("final: [pgd3, cw3]", "final: [cifs-pgd3, pgd3]");

    [Fact]
    public void ACifsRunWritesItsLossesEvaluatesTheJointAttackAndResumesExactly()
    {
        var data = TinyData.FashionMnistLike(128, 32);
        var cfg = ConfigLoader.LoadText(Config(data), "cifs.yaml").Config;
        var straight = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.True(straight.ExitCode == 0, straight.Summary.Error);
        var header = File.ReadAllLines(straight.Folder.MetricsFile)[0].Split(',');
        Assert.Equal(["cifs_final_loss", "cifs_probe_loss"], header.Skip(11));
        Assert.True(straight.Summary.Final.ContainsKey("cifs-pgd3") && straight.Summary.Final.ContainsKey("pgd3"), string.Join(", ", straight.Summary.Final.Keys));
        Assert.True(straight.Summary.Final["cifs-pgd3"] <= straight.Summary.Final["clean"]);

        ResumeCheck.MatchesStraightRun(cfg, straight);
    }

    [Fact]
    public void BadCifsConfigsAreLocatedAndExplained()
    {
        var yaml = Config(TinyData.FashionMnistLike(64, 16));
        Assert.Matches(@"cifs\.yaml:\d+:\d+: model\.arch: the cifs method trains a model\.arch of cifs-resnet18, not smallcnn",
            Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml.Replace("arch: cifs-resnet18, width: 8", "arch: smallcnn"), "cifs.yaml")).Message);
        // The method's options are checked too: an unknown attack loss names the choices.
        Assert.Matches(@"train\.cifs\.attack_loss: 'kl' is not one of joint, ce",
            Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml.Replace("method: cifs", "method: cifs\n  cifs: {attack_loss: kl}"), "cifs.yaml")).Message);
        // An attack on the joint loss needs the probes.
        var plain = TinyData.Config(TinyData.FashionMnistLike(64, 16)).Replace("final: [pgd3, cw3]", "final: [pgd3, cifs-pgd3]");
        Assert.Matches(@"eval\.final\[1\]: cifs-pgd3 attacks a model with CIFS probes \(model\.arch cifs-resnet18\), not smallcnn",
            Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(plain, "p.yaml")).Message);
    }
}
