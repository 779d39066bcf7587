using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Federated.Transport.Tests;

/// <summary>Writes channel logs into the test output, so a failing test shows what the relay session did.</summary>
internal sealed class TestOutputLogger(ITestOutputHelper output, string name) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try { output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {name} {logLevel}: {formatter(state, exception)}"); }
        catch (InvalidOperationException) { /* the test already finished */ }
    }
}
