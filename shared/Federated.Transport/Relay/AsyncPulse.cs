namespace Federated.Transport.Relay;

/// <summary>
/// A level-free wake-up signal: waiters take <see cref="Current"/> BEFORE checking state, then await it; any
/// <see cref="Pulse"/> after that completes their task, so no change can be missed between check and wait.
/// </summary>
public sealed class AsyncPulse
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Current => Volatile.Read(ref _next).Task;

    public void Pulse()
    {
        var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _next, fresh).TrySetResult();
    }
}
