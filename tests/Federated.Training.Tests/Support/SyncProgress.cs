namespace Federated.Training.Tests.Support;

/// <summary>Calls back on the reporting thread (Progress&lt;T&gt; posts to the thread pool, too late to stop at an exact step).</summary>
internal sealed class SyncProgress<T>(Action<T> onReport) : IProgress<T>
{
    public void Report(T value) => onReport(value);
}
