using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace RobustCli.Experiments.Jobs;

/// <summary>A Serilog sink into any TextWriter (the CLI's stderr, or a test's StringWriter), one line per event.</summary>
internal sealed class WriterSink(TextWriter writer, string template) : ILogEventSink
{
    private readonly MessageTemplateTextFormatter formatter = new(template, System.Globalization.CultureInfo.InvariantCulture);
    private readonly object gate = new();

    public void Emit(LogEvent logEvent)
    {
        lock (gate)
        {
            formatter.Format(logEvent, writer);
            writer.Flush();
        }
    }
}
