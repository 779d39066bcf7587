using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Federated.Core.Jobs;
using Federated.Hosting;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Federated.Agent;

/// <summary>
/// The party agent: registers with the coordinator (only ever dialling it), keeps a heartbeat, receives job
/// assignments and runs each with the registered <see cref="IJobHandler"/> over a sealed relay channel; reports
/// each job's state. Reconnects with backoff; errors name the coordinator address and this party's certificate.
/// </summary>
public sealed class PartyAgentService : BackgroundService
{
    private readonly TlsIdentity _identity;
    private readonly PartyAgentOptions _options;
    private readonly RelayLimits _limits;
    private readonly Dictionary<string, IJobHandler> _handlers;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, RunningJob> _running = new(StringComparer.Ordinal);
    private readonly IJobCheckpointStore _checkpoints;
    private readonly AuditReceiptBook _receipts;
    private readonly CoordinatorLink _link;

    private sealed record RunningJob(Task Task, CancellationTokenSource Cancel);

    public PartyAgentService(TlsIdentity identity, IOptions<PartyAgentOptions> options, IOptions<RelayLimits> limits,
        IEnumerable<IJobHandler> handlers, ILoggerFactory loggers, CoordinatorLink link)
    {
        _link = link;
        _identity = identity;
        _options = options.Value;
        _limits = limits.Value;
        _handlers = handlers.ToDictionary(h => h.Kind, StringComparer.Ordinal);
        _loggers = loggers;
        _logger = loggers.CreateLogger<PartyAgentService>();
        if (!Uri.TryCreate(_options.CoordinatorAddress, UriKind.Absolute, out _))
            throw new InvalidOperationException($"Agent:CoordinatorAddress '{_options.CoordinatorAddress}' is not an absolute https:// address");
        _checkpoints = new FileJobCheckpointStore(Path.Combine(Path.GetFullPath(_options.StateDirectory), "jobs"));
        _receipts = new AuditReceiptBook(Path.Combine(Path.GetFullPath(_options.StateDirectory), AuditReceiptFile.FileName),
            () => _identity.Certificate, loggers.CreateLogger<AuditReceiptBook>());
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var address = new Uri(_options.CoordinatorAddress);
        using var connection = CoordinatorConnection.Open(address, () => _identity.Certificate, _identity.Validator, _limits);
        // A rotated certificate is presented on the connections made from now on; running streams keep theirs.
        void Renew(X509Certificate2 previous, X509Certificate2 current) => connection.RenewConnections();
        _identity.Rotated += Renew;
        using var unsubscribe = new Unsubscriber(() => _identity.Rotated -= Renew);
        var backoff = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var reply = await connection.Registry.RegisterAsync(new RegisterRequest
                {
                    AgentVersion = typeof(PartyAgentService).Assembly.GetName().Version?.ToString() ?? "",
                    SupportedJobKinds = { _handlers.Keys.Order(StringComparer.Ordinal) },
                }, deadline: DateTime.UtcNow.AddSeconds(15), cancellationToken: stoppingToken).ConfigureAwait(false);
                _logger.LogInformation("Registered with coordinator {Address} as {PartyId} ({Role}); job kinds: {Kinds}",
                    address, reply.PartyId, reply.Role, string.Join(", ", _handlers.Keys));
                backoff = TimeSpan.FromMilliseconds(250);
                PartyMetrics.Registered(ok: true);
                _link.Up();

                using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var heartbeat = HeartbeatAsync(connection, Math.Max(1, reply.HeartbeatIntervalSeconds), session.Token);
                try
                {
                    await WatchAssignmentsAsync(connection, stoppingToken).ConfigureAwait(false);
                    _link.Down($"the coordinator {address} closed the assignment stream");
                }
                finally
                {
                    await session.CancelAsync().ConfigureAwait(false);
                    try { await heartbeat.ConfigureAwait(false); } catch (OperationCanceledException) { } catch (RpcException) { }
                }
            }
            catch (Exception e) when (stoppingToken.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                break;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated)
            {
                PartyMetrics.Registered(ok: false);
                _link.Down($"the coordinator {address} refused this party: {e.StatusCode}");
                _logger.LogError("Coordinator {Address} refused party {PartyId} (certificate {Fingerprint}): {Detail}",
                    address, _identity.PartyId, _identity.Fingerprint, e.Status.Detail);
                backoff = TimeSpan.FromSeconds(5);
            }
            catch (RpcException e)
            {
                PartyMetrics.Registered(ok: false);
                _link.Down($"cannot reach the coordinator {address}: {e.StatusCode}");
                _logger.LogWarning("Cannot reach coordinator {Address} as {PartyId} (certificate {Fingerprint}): {Status} {Detail}{Problem}",
                    address, _identity.PartyId, _identity.Fingerprint, e.StatusCode, e.Status.Detail,
                    connection.ServerCertificateProblem is { } problem ? "; " + problem : "");
            }
            try { await Task.Delay(backoff, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 5000));
        }

        foreach (var job in _running.Values)
            await job.Cancel.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running.Values.Select(j => j.Task)).ConfigureAwait(false);
    }

    /// <summary>Heartbeats until cancelled; a failed one is counted and marks the link down until the next answers.</summary>
    private async Task HeartbeatAsync(CoordinatorConnection connection, int seconds, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds), ct).ConfigureAwait(false);
            try
            {
                await connection.Registry.HeartbeatAsync(new HeartbeatRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct).ConfigureAwait(false);
                _link.Up();
            }
            catch (RpcException e) when (!ct.IsCancellationRequested)
            {
                PartyMetrics.HeartbeatFailed();
                _link.Down($"heartbeat to the coordinator {connection.Address} failed: {e.StatusCode}");
            }
        }
    }

    private async Task WatchAssignmentsAsync(CoordinatorConnection connection, CancellationToken stoppingToken)
    {
        using var call = connection.Jobs.WatchAssignments(new WatchAssignmentsRequest(), cancellationToken: stoppingToken);
        await foreach (var assignment in call.ResponseStream.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            if (assignment.Cancelled)
            {
                if (_running.TryGetValue(assignment.JobId, out var running))
                {
                    _logger.LogInformation("Job {JobId} stopped by the coordinator: {Reason}", assignment.JobId, assignment.CancelReason);
                    await running.Cancel.CancelAsync().ConfigureAwait(false);
                }
                continue;
            }
            if (_running.ContainsKey(assignment.JobId))
                continue; // re-sent after a reconnect; already running here
            var cancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var task = Task.Run(() => RunJobAsync(connection, assignment, cancel.Token), CancellationToken.None);
            _running[assignment.JobId] = new RunningJob(task, cancel);
            _ = task.ContinueWith(_ =>
            {
                _running.TryRemove(assignment.JobId, out var _);
                cancel.Dispose();
            }, TaskScheduler.Default);
        }
    }

    private async Task RunJobAsync(CoordinatorConnection connection, JobAssignment assignment, CancellationToken ct)
    {
        var jobId = assignment.JobId;
        var logger = _loggers.CreateLogger($"Job.{assignment.Kind}");
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = jobId });
        if (!_handlers.TryGetValue(assignment.Kind, out var handler))
        {
            await ReportAsync(connection, jobId, JobState.Failed, $"party {_identity.PartyId} has no handler for job kind '{assignment.Kind}' (known: {string.Join(", ", _handlers.Keys)})", ct, FailureKind.Input).ConfigureAwait(false);
            return;
        }

        JobCheckpoint? restored = null;
        if (handler.Resumable)
            restored = _checkpoints.Load(jobId);
        else if (assignment.PreviousStarts > 0)
        {
            await ReportAsync(connection, jobId, JobState.Failed,
                $"party {_identity.PartyId} restarted during job {jobId}, and job kind '{assignment.Kind}' cannot resume", ct, FailureKind.Interrupted).ConfigureAwait(false);
            return;
        }

        var settings = new RelayChannelSettings(new AttemptId(jobId), _identity.PartyId, assignment.PeerPartyId, _identity.Certificate, _identity.Validator, _limits)
        {
            PeerJoinTimeout = TimeSpan.FromSeconds(_options.PeerJoinTimeoutSeconds),
            DurableConsumption = handler.Resumable,
            Restored = restored,
            CheckpointStore = handler.Resumable ? _checkpoints : null,
        };
        var channel = RelayPeerChannel.Start(connection.Relay, settings, _loggers.CreateLogger<RelayPeerChannel>());
        await using var channelScope = channel.ConfigureAwait(false);
        var context = new JobContext(new AttemptId(jobId), assignment.Kind, new Dictionary<string, string>(assignment.Parameters), _identity.PartyId, _identity.Role,
            assignment.PeerPartyId, restored?.HandlerState, logger,
            (state, token) => channel.SaveCheckpointAsync(state, token));
        PartyMetrics.JobStarted(assignment.Kind);
        var outcome = "failed";
        try
        {
            await ReportAsync(connection, jobId, JobState.Running, restored is null ? "started" : "resumed from checkpoint", ct).ConfigureAwait(false);
            await TakeReceiptAsync(connection, jobId, restored is null ? "started" : "resumed", ct).ConfigureAwait(false);
            logger.LogInformation("Job {JobId} ({Kind}) {Action} with peer {Peer}", jobId, assignment.Kind, restored is null ? "started" : "resumed", assignment.PeerPartyId);
            await handler.RunAsync(context, channel, ct).ConfigureAwait(false);
            await channel.CompleteAsync(TimeSpan.FromSeconds(_options.CompletionTimeoutSeconds), ct).ConfigureAwait(false);
            var stats = channel.Stats;
            var summary = $"{context.Summary} [relay: {stats.Sent} sent, {stats.Received} received, {stats.DuplicatesDropped} duplicates dropped, {stats.Sessions} session(s)]".Trim();
            await ReportAsync(connection, jobId, JobState.Completed, summary, ct).ConfigureAwait(false);
            await TakeReceiptAsync(connection, jobId, "completed", ct).ConfigureAwait(false);
            _checkpoints.Delete(jobId);
            outcome = "completed";
            logger.LogInformation("Job {JobId} completed: {Summary}", jobId, summary);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            outcome = "cancelled";
            logger.LogInformation("Job {JobId} cancelled (stopped by the coordinator, or this agent is shutting down)", jobId);
        }
        catch (Exception e)
        {
            logger.LogError("Job {JobId} failed: {Error}", jobId, e.Message);
            await ReportAsync(connection, jobId, JobState.Failed, $"{_identity.PartyId}: {e.Message}", ct, JobFailures.Classify(e)).ConfigureAwait(false);
            await TakeReceiptAsync(connection, jobId, "failed", ct).ConfigureAwait(false);
        }
        finally
        {
            PartyMetrics.JobEnded(assignment.Kind, outcome);
        }
    }

    /// <summary>A signed receipt of the audit log's chain head at a milestone of the job; never fails the job.</summary>
    private async Task TakeReceiptAsync(CoordinatorConnection connection, string jobId, string milestone, CancellationToken ct)
    {
        try
        {
            await _receipts.TakeAsync(connection.Jobs, jobId, milestone, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the job is being stopped; what it does next decides
        }
        catch (Exception e)
        {
            _logger.LogWarning("No audit receipt for job {JobId} at '{Milestone}': {Problem}", jobId, milestone, e.Message);
        }
    }

    private async Task ReportAsync(CoordinatorConnection connection, string jobId, JobState state, string summary, CancellationToken ct,
        FailureKind failure = FailureKind.Unspecified)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await connection.Jobs.ReportJobStateAsync(new ReportJobStateRequest { JobId = jobId, State = state, Summary = summary, Failure = failure },
                    deadline: DateTime.UtcNow.AddSeconds(15), cancellationToken: ct).ConfigureAwait(false);
                return;
            }
            catch (RpcException e) when (attempt < 5 && e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(300 * attempt), ct).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                _logger.LogError("Could not report state {State} of job {JobId} to the coordinator: {Status} {Detail}", state, jobId, e.StatusCode, e.Status.Detail);
                return;
            }
        }
    }
}

file sealed class Unsubscriber(Action undo) : IDisposable
{
    public void Dispose() => undo();
}
