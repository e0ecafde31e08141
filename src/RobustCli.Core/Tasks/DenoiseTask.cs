using System.Globalization;
using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Tasks;

/// <summary>
/// Image denoising (Yan et al. 2022's setting): a batch is clean images x (labels ignored) and observations
/// y = clamp(x + sigma_i n, 0, 1), sigma_i per image — one level, or drawn uniformly from [low, high] as the
/// reference draws U[0, 55]/255 — and n Gaussian or uniform of unit variance. The model maps y to an estimate of x,
/// trained with the MSE and scored by PSNR (peak 1, the estimate clamped to [0, 1]). Every draw is a function of
/// (seed, sample id), so validation sees the same observations every epoch.
///
/// Validation and test follow the paper's protocol at each level of eval_sigmas: the clean score is the PSNR at
/// Gaussian noise sigma, the robust score the PSNR under the attack, whose observation noise is lowered by the
/// attack's own level (sigma - 5 for ObsAtk of level 5); both are averaged over the levels, as the reference selects
/// its best checkpoint.
/// </summary>
public sealed class DenoiseTask(double sigmaLow, double sigmaHigh, bool uniformNoise, bool clipObservation, IReadOnlyList<int> evalSigmas) : ITask
{
    public static readonly TaskRegistration Registration = new("denoise", "image denoising: PSNR and SSIM of the estimate of the clean image, under noise and attacks",
        new OptionDeclaration(
        [
            OptionSpec.Range("sigma", 25, "noise level in /255 units: a number (25) or an interval [0, 55] drawn per image", min: 0, max: 255),
            OptionSpec.Choice("noise", "gaussian", "the noise's distribution (uniform: the same variance)", "gaussian", "uniform"),
            OptionSpec.Bool("clip_observation", true, "clamp the noisy observation to [0, 1], as the reference does"),
            OptionSpec.Ints("eval_sigmas", [15, 25], "levels (/255) validation and test measure at, averaged", min: 0),
        ], o => o.Ints("eval_sigmas").Count == 0 ? [new OptionError("eval_sigmas", "name at least one level, e.g. [15, 25]")] : []),
        b =>
        {
            var (lo, hi) = b.Options.Range("sigma");
            return new DenoiseTask(lo, hi, b.Options.String("noise") == "uniform", b.Options.Bool("clip_observation"), b.Options.Ints("eval_sigmas"));
        });

    public string Name => "denoise";
    public string Score => "psnr";
    public bool ScoreIsFraction => false;
    public string Output => "image";
    public bool InputsInBox => clipObservation;
    /// <summary>The training noise levels in /255 units.</summary>
    public (double Low, double High) Sigma => (sigmaLow, sigmaHigh);
    public bool UniformNoise => uniformNoise;
    public IReadOnlyList<int> EvalSigmas => evalSigmas;
    public IAttackLoss AttackLoss { get; } = new MseAttackLoss();

    public (Tensor X, Tensor Y) Prepare(Batch batch, ulong seed) => (Observe(batch.X, batch.SampleIds, seed, null), batch.X);

    /// <summary>
    /// The noisy observation of clean images <paramref name="x"/>: at level <paramref name="sigma"/> (/255) when
    /// given, else at each sample's level drawn from the task's interval.
    /// </summary>
    public Tensor Observe(Tensor x, long[] sampleIds, ulong seed, double? sigma)
    {
        using var scope = DisposeScope.Open();
        var samples = new SampleNoise(seed, sampleIds);
        var perSample = x.Shape[1..];
        var n = uniformNoise
            ? samples.Uniform(SampleNoise.Stream(0xd1), perSample, x.Device, x.DType).Mul_(2).Sub_(1).Mul_(Math.Sqrt(3))
            : samples.Normal(SampleNoise.Stream(0xd0), perSample, x.Device, x.DType);
        double[] levels;
        if (sigma is { } s) levels = Enumerable.Repeat(s, sampleIds.Length).ToArray();
        else
        {
            var u = samples.Doubles(SampleNoise.Stream(0xd2), 1);
            levels = u.Select(v => sigmaLow + v * (sigmaHigh - sigmaLow)).ToArray();
        }
        var shape = new long[x.Dim];
        Array.Fill(shape, 1L);
        shape[0] = x.Size(0);
        var std = torch.From(levels.Select(l => (float)(l / 255)).ToArray(), shape, x.Device).To(x.DType);
        var y = x + n.Mul_(std);
        if (clipObservation) y.Clamp_(0, 1);
        return y.MoveToOuterScope();
    }

    public Tensor Loss(Tensor output, Tensor target) => F.MseLoss(output, target);

    public double ScoreSum(Tensor output, Tensor target)
    {
        using var scope = DisposeScope.Open();
        return Psnr(output, target).Sum().Item();
    }

    /// <summary>Per-sample PSNR in dB (see <see cref="ImageQuality.Psnr"/>).</summary>
    public static Tensor Psnr(Tensor estimate, Tensor clean) => ImageQuality.Psnr(estimate, clean);

    /// <summary>
    /// The observation an attack starts from at level <paramref name="sigma"/>: an attack with a level of its own
    /// (ObsAtk, random noise) gets Gaussian noise of sigma minus that level, so noise and attack add up to about sigma.
    /// </summary>
    public static double ObservationSigma(double sigma, Attack? attack) =>
        attack is IObservationAttack o ? Math.Max(0, sigma - o.Level) : sigma;

    /// <summary>
    /// What the denoiser sees at level <paramref name="sigma"/> under <paramref name="attack"/> (none: Gaussian noise
    /// alone): the observation at <see cref="ObservationSigma"/>, then the attack on it with the same seed and per-sample
    /// draws. Returns that observation and the attacked input (the same tensor without an attack).
    /// </summary>
    public (Tensor Noisy, Tensor Input) AttackedObservation(Module model, Tensor x, long[] sampleIds, ulong seed, double sigma, Attack? attack)
    {
        var noisy = Observe(x, sampleIds, seed, ObservationSigma(sigma, attack));
        if (attack == null) return (noisy, noisy);
        attack.Seed = seed;
        attack.ClampToBox = InputsInBox;
        return (noisy, attack.Perturb(model, noisy, x, sampleIds: sampleIds));
    }

    public TaskScores Evaluate(Module model, DataLoader data, Attack? attack, ulong seed)
    {
        var sw = Stopwatch.StartNew();
        var was = model.Training;
        model.Eval();
        var clean = new List<double>();
        var robust = attack == null ? null : new List<double>();
        if (attack is IObservationAttack obs) obs.ReferenceElements = MeanElements(data.Data);
        try
        {
            foreach (var sigma in evalSigmas)
                foreach (var batch in data.Epoch(0))
                {
                    using var owned = batch;
                    using var scope = DisposeScope.Open();
                    var x = batch.X;
                    var levelSeed = seed + (ulong)sigma;
                    var y = Observe(x, batch.SampleIds, levelSeed, sigma);
                    using (torch.NoGrad()) clean.AddRange(Psnr(model.Forward(y), x).ToArray<float>().Select(v => (double)v));
                    if (attack == null) continue;
                    var (_, adv) = AttackedObservation(model, x, batch.SampleIds, levelSeed, sigma, attack);
                    using (torch.NoGrad()) robust!.AddRange(Psnr(model.Forward(adv), x).ToArray<float>().Select(v => (double)v));
                }
        }
        finally
        {
            if (was) model.Train();
        }
        return new TaskScores(Mean(clean), robust == null ? double.NaN : Mean(robust), clean.ToArray(), robust?.ToArray(), sw.Elapsed.TotalSeconds);
    }

    public string? Levels => "noise levels in /255 units (robust eval --sigma; default: task.eval_sigmas)";

    public IReadOnlyList<string> DefaultAttacks => ["obsatk5"];

    public bool NeedsLabels => false;

    /// <summary>SSIM as a fraction to 4 digits, PSNR in dB.</summary>
    public string Format(string key, double value) => !double.IsFinite(value) ? "-"
        : key.StartsWith("ssim", StringComparison.Ordinal) ? value.ToString("F4", CultureInfo.InvariantCulture) : value.ToString("F2", CultureInfo.InvariantCulture) + " dB";

    /// <summary>
    /// PSNR and SSIM noise-free, under Gaussian noise of each level and under each attack at that level
    /// (<see cref="DenoisingEvaluator"/>). Summary rows: condition, sigma, the Gaussian level of the observation the
    /// attack started from, mean PSNR and SSIM, seconds, n; per-image rows (long format): image, condition, sigma,
    /// psnr, ssim. Attacks are named as written, so obsatk5 and obsatk5:zero_mean=false stay apart.
    /// </summary>
    public TaskEvaluation Measure(TaskEvaluationRequest request)
    {
        var sigmas = request.Levels is { Count: > 0 } given ? given : evalSigmas.Select(v => (double)v).ToList();
        if (sigmas.FirstOrDefault(v => v <= 0 || v > 255) is var bad and not 0) throw new FormatException($"--sigma {bad}: a noise level in /255 units in (0, 255]");
        var attacks = request.Attacks.Select(spec => AttackPresets.Create(spec, request.Eps, ((ITask)this).EvaluationLoss, displayName: spec)).ToList();
        request.Log?.Invoke($"{request.Test.Name}: {request.Test.Count} pictures at sigma {string.Join(", ", sigmas)}: Gaussian noise{string.Concat(attacks.Select(a => ", " + a.Name))}; " +
                            $"ObsAtk's budget uses their mean size ({MeanElements(request.Test):F0} values)");
        var result = DenoisingEvaluator.Evaluate(request.Model, this, request.Test, attacks, new DenoisingEvaluationOptions
        {
            Sigmas = sigmas, Seed = request.Seed, BatchSize = request.BatchSize, Device = request.Device, SaveFolder = request.SaveFolder, Log = request.Log,
        });
        static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        static string Condition(DenoisingRow r) => r.Key == "noise-free" ? "noise-free" : r.Condition;
        var summary = new ResultTable(["condition", "sigma", "observation_sigma", "psnr", "ssim", "seconds", "n"], result.Rows.Select(r => (IReadOnlyList<string>)
        [
            Condition(r), F(r.Sigma), F(r.ObservationSigma), r.MeanPsnr.ToString("F4", CultureInfo.InvariantCulture), r.MeanSsim.ToString("F5", CultureInfo.InvariantCulture),
            r.Seconds.ToString("F2", CultureInfo.InvariantCulture), r.Psnr.Length.ToString(CultureInfo.InvariantCulture),
        ]).ToList());
        var samples = new ResultTable(["image", "condition", "sigma", "psnr", "ssim"], result.Rows.SelectMany(r => Enumerable.Range(0, r.Psnr.Length).Select(i => (IReadOnlyList<string>)
        [
            result.Images[i], Condition(r), F(r.Sigma), r.Psnr[i].ToString("F4", CultureInfo.InvariantCulture), r.Ssim[i].ToString("F5", CultureInfo.InvariantCulture),
        ])).ToList());
        var printed = new ResultTable(["condition", "sigma", "observation", "PSNR (dB)", "SSIM", "seconds"], result.Rows.Select(r => (IReadOnlyList<string>)
        [
            Condition(r), r.Sigma.ToString("0.##", CultureInfo.InvariantCulture), r.ObservationSigma.ToString("0.##", CultureInfo.InvariantCulture),
            r.MeanPsnr.ToString("F2", CultureInfo.InvariantCulture), r.MeanSsim.ToString("F4", CultureInfo.InvariantCulture), r.Seconds.ToString("F1", CultureInfo.InvariantCulture),
        ]).ToList());
        return new TaskEvaluation
        {
            Summary = summary, Samples = samples, Printed = printed, Count = result.Images.Count,
            Scores = result.Rows.SelectMany(r => new[] { ("psnr " + r.Key, r.MeanPsnr), ("ssim " + r.Key, r.MeanSsim) }).ToList(),
            Document = new Dictionary<string, object?>
            {
                ["n"] = result.Images.Count, ["sigmas"] = sigmas,
                ["rows"] = result.Rows.Select(r => new Dictionary<string, object?>
                {
                    ["condition"] = Condition(r), ["sigma"] = r.Sigma, ["observation_sigma"] = r.ObservationSigma, ["psnr"] = r.MeanPsnr, ["ssim"] = r.MeanSsim,
                    ["seconds"] = Math.Round(r.Seconds, 2),
                }).ToList(),
            },
        };
    }

    /// <summary>The mean number of values per sample of a source (N of ObsAtk's evaluation budget, as the reference averages over the test set).</summary>
    public static double MeanElements(ImageSource source)
    {
        if (source.Count == 0) return 0;
        double sum = 0;
        for (var i = 0; i < source.Count; i++)
        {
            var (h, w) = source.Shape(i);
            sum += (double)source.Channels * h * w;
        }
        return sum / source.Count;
    }

    private static double Mean(List<double> v) => v.Count == 0 ? double.NaN : v.Average();
}
