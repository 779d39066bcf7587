using Federated.Transport.Relay;

namespace Federated.Transport.Client;

/// <summary>
/// What the parts of one relay channel share: the one lock and the one wake-up signal behind every wait (a sender
/// waiting for window, the delivery pump waiting for buffer room, the acknowledgement pump, completion), so each
/// change is seen by whoever waits on it; whether the channel is ready or failed for good; and the session count.
/// </summary>
internal sealed class RelayChannelState(string jobId)
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _fatal;
    private ulong _sessions;

    public object Gate { get; } = new();

    /// <summary>Pulsed on every change of the channel's state; take <see cref="AsyncPulse.Current"/> under <see cref="Gate"/> before checking.</summary>
    public AsyncPulse Changed { get; } = new();

    /// <summary>Completes when the first session is established; faults if the channel fails first.</summary>
    public Task Ready => _ready.Task;

    public ulong Sessions
    {
        get { lock (Gate) return _sessions; }
    }

    /// <summary>Throws the channel's failure, if any. Call under <see cref="Gate"/>.</summary>
    public void ThrowIfFailed()
    {
        if (_fatal is not null)
            throw new RelayChannelFailedException($"relay channel of job {jobId} failed: {_fatal.Message}", _fatal);
    }

    public void Established()
    {
        lock (Gate)
            _sessions++;
        _ready.TrySetResult();
    }

    /// <summary>Records the first failure and wakes every waiter, which then throws it.</summary>
    public void Fail(Exception error)
    {
        lock (Gate)
        {
            _fatal ??= error;
            Changed.Pulse();
        }
        _ready.TrySetException(error);
    }

    public void Stopped(CancellationToken stop) => _ready.TrySetCanceled(stop);
}
