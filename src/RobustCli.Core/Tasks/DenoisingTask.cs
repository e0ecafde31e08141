using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Tasks;

/// <summary>
/// Image denoising: a batch is a clean image x and its noisy observation y = x + sigma N(0, 1) (labels are
/// ignored); the model maps y to an estimate of x, trained with the MSE and scored by PSNR (peak 1, the output
/// clamped to [0, 1]). An attack perturbs the observation within eps to lower the PSNR (it maximises the MSE to the
/// clean image), so robust PSNR is the PSNR on attacked observations. The noise of a sample is a function of
/// (seed, sample id), so validation sees the same observations every epoch.
/// </summary>
public sealed class DenoisingTask(double sigma, bool clipObservation) : ITask
{
    public static readonly TaskRegistration Registration = new("denoising", "image denoising: PSNR and robust PSNR of the estimate of the clean image",
        new OptionDeclaration(
        [
            OptionSpec.Double("sigma", 25.0 / 255, "std of the additive Gaussian noise, in pixel units (25/255 is the common benchmark)", min: 0),
            OptionSpec.Bool("clip_observation", false, "clamp the noisy observation to [0, 1]"),
        ]),
        b => new DenoisingTask(b.Options.Double("sigma"), b.Options.Bool("clip_observation")));

    public string Name => "denoising";
    public string Score => "psnr";
    public bool ScoreIsFraction => false;
    public string Output => "image";
    public bool InputsInBox => clipObservation;
    public double Sigma { get; } = sigma;
    public IAttackLoss AttackLoss { get; } = new MseAttackLoss();

    public (Tensor X, Tensor Y) Prepare(Batch batch, ulong seed)
    {
        var noise = new SampleNoise(seed, batch.SampleIds)
            .Normal(SampleNoise.Stream(0xd0), batch.X.Shape[1..], batch.X.Device, batch.X.DType);
        var observation = batch.X + noise.Mul_(Sigma);
        if (clipObservation) observation.Clamp_(0, 1);
        return (observation, batch.X);
    }

    public Tensor Loss(Tensor output, Tensor target) => F.MseLoss(output, target);

    public double ScoreSum(Tensor output, Tensor target)
    {
        using var scope = DisposeScope.Open();
        return Psnr(output, target).Sum().Item();
    }

    /// <summary>Per-sample PSNR in dB of the estimate (clamped to [0, 1]) against the clean image, peak 1.</summary>
    public static Tensor Psnr(Tensor estimate, Tensor clean)
    {
        using var _ = torch.NoGrad();
        var mse = (estimate.Clamp(0, 1) - clean).Pow_(2).Flatten(1).Mean([1]).Clamp_(min: 1e-10);
        return mse.Log_().Mul_(-10 / Math.Log(10));
    }

    public TaskScores Evaluate(Module model, DataLoader data, Attack? attack, ulong seed)
    {
        var sw = Stopwatch.StartNew();
        var was = model.Training;
        model.Eval();
        var clean = new List<double>();
        var robust = attack == null ? null : new List<double>();
        try
        {
            foreach (var batch in data.Epoch(0))
            {
                using var owned = batch;
                using var scope = DisposeScope.Open();
                var (y, x) = Prepare(batch, seed);
                using (torch.NoGrad()) clean.AddRange(Psnr(model.Forward(y), x).ToArray<float>().Select(v => (double)v));
                if (attack == null) continue;
                attack.Seed = seed;
                attack.ClampToBox = InputsInBox;
                var adv = attack.Perturb(model, y, x, sampleIds: batch.SampleIds);
                using (torch.NoGrad()) robust!.AddRange(Psnr(model.Forward(adv), x).ToArray<float>().Select(v => (double)v));
            }
        }
        finally
        {
            if (was) model.Train();
        }
        return new TaskScores(Mean(clean), robust == null ? double.NaN : Mean(robust), clean.ToArray(), robust?.ToArray(), sw.Elapsed.TotalSeconds);
    }

    private static double Mean(List<double> v) => v.Count == 0 ? double.NaN : v.Average();
}
