namespace RobustCli.Core.Training;

/// <summary>
/// How far an epoch has gone: the batches done and the running sums its metrics row is made of. A mid-epoch
/// checkpoint keeps it, so an epoch resumed after a kill skips the batches done and ends with the row an
/// uninterrupted epoch would write (the sums continue; only the seconds differ).
/// </summary>
public sealed record EpochProgress(int Epoch, int BatchesDone, double LossSum, long Seen, double CleanScore, long CleanSeen,
    double AdversarialScore, long AdversarialSeen, double TrainSeconds);
