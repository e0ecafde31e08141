using System.Runtime.InteropServices;

namespace RobustCli;

/// <summary>
/// SIGTERM (scancel, a scheduler preempting or ending a job) and SIGINT (Ctrl-C) become a cancellation instead of an
/// abrupt exit: a training run checkpoints after the batch under way and marks itself interrupted, an evaluation with
/// a state file has saved its last batch, and the command exits 130. A second signal ends the process at once.
/// </summary>
internal static class Interruption
{
    private static readonly CancellationTokenSource Source = new();
    private static readonly object Gate = new();
    private static List<PosixSignalRegistration>? registrations;

    /// <summary>The token the commands hand their jobs; the handlers are installed on first use.</summary>
    public static CancellationToken Token
    {
        get
        {
            lock (Gate)
            {
                registrations ??= Register(PosixSignal.SIGTERM, PosixSignal.SIGINT);
            }
            return Source.Token;
        }
    }

    // .NET maps these signals to console events on Windows; a platform that lacks one still gets the others.
    private static List<PosixSignalRegistration> Register(params PosixSignal[] signals)
    {
        var list = new List<PosixSignalRegistration>();
        foreach (var signal in signals)
        {
            try { list.Add(PosixSignalRegistration.Create(signal, Handle)); }
            catch (PlatformNotSupportedException) { }
        }
        return list;
    }

    private static long firstSignal;

    private static void Handle(PosixSignalContext context)
    {
        var now = Environment.TickCount64;
        if (Source.IsCancellationRequested)
        {
            // The same stop often arrives twice at once (scancel signals every process of the job, and the batch
            // script passes it on): only a signal sent again seconds later means "now".
            if (now - Interlocked.Read(ref firstSignal) < 5000) context.Cancel = true;
            return;
        }
        context.Cancel = true;
        Interlocked.Exchange(ref firstSignal, now);
        Console.Error.WriteLine($"robust: {context.Signal}: stopping after the batch under way (a checkpoint is written); send it again to stop at once");
        Source.Cancel();
    }
}
