using System.Security.Cryptography;
using Federated.Security;
using Federated.Transport.Relay;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Federated.Transport.Client;

/// <summary>
/// Runs the sessions of a relay channel one after another until the channel stops: a session that ends (a rekey, a
/// broken stream, an unreachable coordinator) is followed by a new handshake after a backoff of 200 ms doubling up
/// to 3 s (reset by every session that ends without error); an ended job or a fatal error (tampering, an invalid
/// peer, a refusal by the coordinator) fails the channel for good.
/// </summary>
internal sealed class RelayReconnectLoop(V1.Relay.RelayClient client, RelayChannelSettings settings,
    RelayChannelState state, RelayOutbox outbox, RelayInbox inbox, ILogger logger)
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(3);

    // One per channel object: a restarted party offers a new incarnation, which starts a new generation.
    private readonly string _incarnation = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private string JobId => settings.Attempt.Value;

    public async Task RunAsync(CancellationToken stop)
    {
        var backoff = FirstBackoff;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await new RelaySession(client, settings, _incarnation, state, outbox, inbox, logger).RunAsync(stop).ConfigureAwait(false);
                backoff = FirstBackoff;
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                break; // disposed: whatever the calls in flight threw is a consequence
            }
            catch (JobEndedException ended)
            {
                logger.LogInformation("Relay session of job {JobId} closed: the job is {State}", JobId, ended.State);
                Fail(new RelayChannelFailedException(ended.Message, ended));
                return;
            }
            catch (Exception error) when (IsFatal(error))
            {
                logger.LogError("Relay channel of job {JobId} ({Self} -> {Peer}) failed: {Error}",
                    JobId, settings.SelfPartyId, settings.PeerPartyId, error.Message);
                Fail(error);
                return;
            }
            catch (Exception error)
            {
                logger.LogWarning("Relay session of job {JobId} interrupted ({Error}); reconnecting in {Delay} ms",
                    JobId, Describe(error), (int)backoff.TotalMilliseconds);
                try { await Task.Delay(backoff, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, MaxBackoff.TotalMilliseconds));
            }
        }
        inbox.Close();
        state.Stopped(stop);
    }

    private void Fail(Exception error)
    {
        state.Fail(error);
        inbox.Close(error);
    }

    private static string Describe(Exception error) => error switch
    {
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        _ => error.Message,
    };

    private static bool IsFatal(Exception error) => error switch
    {
        SealingException or RelayProtocolException or RelayChannelFailedException => true,
        RpcException rpc => rpc.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated
            or StatusCode.NotFound or StatusCode.InvalidArgument or StatusCode.FailedPrecondition
            or StatusCode.DeadlineExceeded or StatusCode.Unimplemented,
        _ => false,
    };
}
