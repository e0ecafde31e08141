using RobustCli.Core.Registry;

namespace RobustCli.Core.Attacks;

/// <summary>The attack families by name. Adding one is its file plus one line here (or a Register call).</summary>
public static class Attacks
{
    private static OptionSpec Steps(int d) => OptionSpec.Int("steps", d, "iterations", min: 1);
    private static OptionSpec Restarts(int d = 1) => OptionSpec.Int("restarts", d, "random restarts; a sample keeps the first that fools the model", min: 1);
    private static OptionSpec Alpha(string derived) => OptionSpec.Double("alpha", null, $"step size in pixel units; null: {derived}", min: 0, minExclusive: true);
    private static OptionSpec Targets => OptionSpec.Int("targets", 9, "target classes tried, runner-up first", min: 1);

    public static readonly AttackRegistration Fgsm = new("fgsm", "FGSM: one signed-gradient step of eps (alpha from a random start)",
        new OptionDeclaration([OptionSpec.Bool("random_start", false, "start uniformly in the eps-ball"), Alpha("eps")]),
        b => new FgsmAttack(b.Name, b.Eps, b.Options.Bool("random_start"), b.Options.NullableDouble("alpha"), b.Loss))
    { Examples = ["fgsm"], TakesTaskLoss = true };

    public static readonly AttackRegistration Pgd = new("pgd", "PGD (Madry et al.) on the cross entropy (the task's loss), Linf or L2",
        new OptionDeclaration([Steps(10), Alpha("2.5 eps / steps"), Restarts(), OptionSpec.Bool("random_start", true, "start uniformly in the eps-ball")]),
        b =>
        {
            var k = b.Options.Int("steps");
            return new PgdAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 2.5 * b.Eps / k, k, b.Norm,
                b.Options.Bool("random_start") ? RandomStart.Uniform : RandomStart.None, b.Options.Int("restarts"), b.Loss);
        })
    { StepsInName = true, HasL2 = true, Examples = ["pgd10", "pgd20", "pgd50", "pgd100", "pgd20-l2"], TakesTaskLoss = true };

    public static readonly AttackRegistration Cw = new("cw", "CW-Linf: PGD on the margin loss with confidence kappa",
        new OptionDeclaration([Steps(20), Alpha("2.5 eps / steps"), OptionSpec.Double("kappa", 50, "margin confidence", min: 0), Restarts()]),
        b =>
        {
            var k = b.Options.Int("steps");
            return new CwAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 2.5 * b.Eps / k, k, b.Options.Double("kappa"), b.Options.Int("restarts"));
        })
    { StepsInName = true, Examples = ["cw20", "cw100"] };

    public static readonly AttackRegistration MiFgsm = new("mifgsm", "MI-FGSM (Dong et al. 2018): momentum on L1-normalised gradients",
        new OptionDeclaration([Steps(10), Alpha("eps / steps"), OptionSpec.Double("decay", 1.0, "momentum decay mu", min: 0)]),
        b =>
        {
            var k = b.Options.Int("steps");
            return new MiFgsmAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? b.Eps / k, k, b.Options.Double("decay"), b.Loss);
        })
    { Examples = ["mifgsm"], TakesTaskLoss = true };

    private static OptionDeclaration ApgdOptions => new(
    [
        Steps(100), Restarts(), Targets,
        OptionSpec.Double("rho", 0.75, "step-size halving threshold: the fraction of steps that must raise the loss", min: 0, max: 1),
        OptionSpec.Int("eot", 1, "gradients averaged per step (expectation over transformation)", min: 1),
    ]);

    private static AttackRegistration Apgd(string name, ApgdLoss loss, string description) => new(name, description, ApgdOptions,
        b => new ApgdAttack(b.Name, b.Eps, b.Norm, b.Options.Int("steps"), b.Options.Int("restarts"), loss, b.Options.Int("targets"),
            b.Options.Double("rho"), b.Options.Int("eot")))
    { HasL2 = true, Examples = [name, name + "-l2"] };

    public static readonly AttackRegistration ApgdCe = Apgd("apgd-ce", ApgdLoss.CrossEntropy, "Auto-PGD on the cross entropy (AutoAttack's first attack)");
    public static readonly AttackRegistration ApgdDlr = Apgd("apgd-dlr", ApgdLoss.Dlr, "Auto-PGD on the DLR loss");
    public static readonly AttackRegistration ApgdT = Apgd("apgd-t", ApgdLoss.TargetedDlr, "Auto-PGD on the targeted DLR loss, runner-up classes in turn");

    private static AttackRegistration Fab(string name, bool targeted) => new(name,
        targeted ? "FAB-T: minimum-norm targeted attack, kept when within eps" : "FAB: minimum-norm attack, kept when within eps",
        new OptionDeclaration(
        [
            Steps(100), Restarts(), Targets,
            OptionSpec.Double("alpha_max", 0.1, "largest extrapolation weight", min: 0, max: 1),
            OptionSpec.Double("eta", 1.05, "overshoot", min: 1),
            OptionSpec.Double("beta", 0.9, "backward step", min: 0, max: 1),
        ]),
        b => new FabAttack(b.Name, b.Eps, b.Norm, targeted, b.Options.Int("steps"), b.Options.Int("restarts"), b.Options.Int("targets"),
            b.Options.Double("alpha_max"), b.Options.Double("eta"), b.Options.Double("beta")))
    { HasL2 = true, Examples = [name] };

    public static readonly AttackRegistration FabU = Fab("fab", false);
    public static readonly AttackRegistration FabT = Fab("fab-t", true);

    public static readonly AttackRegistration Square = new("square", "Square attack: score-based random search (Andriushchenko et al. 2020)",
        new OptionDeclaration(
        [
            OptionSpec.Int("queries", 5000, "queries per point", min: 1),
            OptionSpec.Double("p_init", 0.8, "initial fraction of pixels changed", min: 0, max: 1, minExclusive: true),
            Restarts(),
            OptionSpec.Bool("rescale_schedule", false, "stretch the p schedule to the query budget"),
        ]),
        b => new SquareAttack(b.Name, b.Eps, b.Norm, b.Options.Int("queries"), b.Options.Double("p_init"), b.Options.Int("restarts"), b.Options.Bool("rescale_schedule")))
    { HasL2 = true, Examples = ["square", "square-l2"] };

    public static readonly AttackRegistration SoeAdaptive = new("soe-adaptive",
        "adaptive PGD on an expert-selecting model (SoE): CE of the selected and of a wrong expert plus the log-score gap that moves the selection",
        new OptionDeclaration(
        [
            Steps(50), Alpha("2.5 eps / steps"),
            OptionSpec.Double("weight", 1.0, "weight of the selection term log s_wrong - log s_selected", min: 0),
            OptionSpec.Choice("start", "normal", "x + 0.001 N(0, 1) (the reference's white-box start), uniform in the eps-ball, or x", "normal", "uniform", "none"),
        ]),
        b =>
        {
            var k = b.Options.Int("steps");
            var start = b.Options.String("start") switch { "uniform" => RandomStart.Uniform, "none" => RandomStart.None, _ => RandomStart.Normal };
            return new SelectionAdaptiveAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 2.5 * b.Eps / k, k, b.Options.Double("weight"), start);
        })
    { StepsInName = true, Examples = ["soe-adaptive50"], Requires = [Models.SynergyOfExperts.Experts] };

    private static OptionSpec Level => OptionSpec.Double("level", 5, "strength as a noise level s in /255 units: rho = s/255 sqrt(C H W)", min: 0);

    public static readonly AttackRegistration ObsAtk = new("obsatk",
        "ObsAtk (Yan et al. 2022): zero-mean L2 PGD on a denoiser's observation, budget rho = s/255 sqrt(N), no random start",
        new OptionDeclaration(
        [
            Steps(5), Level,
            OptionSpec.Double("step", 0.3, "step size as a fraction of rho (1 with one step: HAT's training attack)", min: 0, minExclusive: true),
            OptionSpec.Bool("zero_mean", true, "project each step onto zero-mean perturbations (false: plain L2 PGD on the observation)"),
        ]),
        b => new ObsAttack(b.Name, b.Options.Double("level"), b.Options.Int("steps"), b.Options.Double("step"), b.Options.Bool("zero_mean")))
    { StepsInName = true, Examples = ["obsatk5", "obsatk1:step=1", "obsatk5:zero_mean=false"], TakesTaskLoss = true, NeedsTaskLoss = true };

    public static readonly AttackRegistration GaussianNoise = new("gaussian-noise",
        "Gaussian noise of level s on a denoiser's observation (ObsAtk's random baseline: the same expected energy)",
        new OptionDeclaration([Level]), b => new RandomNoiseAttack(b.Name, b.Options.Double("level"), uniform: false))
    { Examples = ["gaussian-noise"], TakesTaskLoss = true, NeedsTaskLoss = true };

    public static readonly AttackRegistration UniformNoise = new("uniform-noise",
        "uniform noise of level s (the variance of Gaussian noise of std s/255) on a denoiser's observation",
        new OptionDeclaration([Level]), b => new RandomNoiseAttack(b.Name, b.Options.Double("level"), uniform: true))
    { Examples = ["uniform-noise"], TakesTaskLoss = true, NeedsTaskLoss = true };

    public static readonly AttackRegistration CifsPgd = new("cifs-pgd",
        "PGD on CIFS's joint loss (final + probe cross entropies) through the importance masks (the official evaluation: 20 steps of 0.1 eps, no random start)",
        new OptionDeclaration(
        [
            Steps(20), Alpha("0.1 eps"),
            OptionSpec.Double("beta", 2, "weight of the probes' cross entropy (beta_atk)", min: 0),
            OptionSpec.Bool("joint", true, "the joint loss; false: the final logits' cross entropy only"),
            OptionSpec.Bool("random_start", false, "start uniformly in the eps-ball"),
        ]),
        b => new CifsJointAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 0.1 * b.Eps, b.Options.Int("steps"), b.Options.Double("beta"),
            b.Options.Bool("joint"), b.Options.Bool("random_start")))
    { StepsInName = true, Examples = ["cifs-pgd20"], Requires = [Models.CifsResNet18.Probes] };

    public static readonly AttackRegistration Hypocritical = new("hypocritical",
        "hypocritical perturbations (Tao et al. 2022): PGD towards the true class on misclassified points; robust eval reports the hypocritical risk",
        new OptionDeclaration([Steps(10), Alpha("2.5 eps / steps"), OptionSpec.Bool("random_start", false, "start uniformly in the eps-ball")]),
        b =>
        {
            var k = b.Options.Int("steps");
            return new HypocriticalAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 2.5 * b.Eps / k, k, b.Norm,
                b.Options.Bool("random_start") ? RandomStart.Uniform : RandomStart.None);
        })
    {
        HasL2 = true, Examples = ["hypocritical", "hypocritical:steps=20"],
        MeasuresRisk = ("hypocritical_risk", "pushes misclassified points towards their true class; it measures the hypocritical risk: robust eval --checkpoint RUN --attack hypocritical"),
    };

    public static readonly Registry<AttackRegistration> Registry = new("attack",
    [
        Fgsm, Pgd, Cw, MiFgsm, ApgdCe, ApgdDlr, ApgdT, FabU, FabT, Square, SoeAdaptive, ObsAtk, GaussianNoise, UniformNoise, CifsPgd, Hypocritical,
    ]);

    /// <summary>Example names of every registered attack, for help and errors.</summary>
    public static IEnumerable<string> Examples => Registry.All.SelectMany(r => r.Examples.Count > 0 ? r.Examples : [r.Name]);
}
