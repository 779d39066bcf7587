using Federated.Coordinator.Jobs;
using Federated.Coordinator.Relay;
using Federated.Core.Jobs;
using Federated.Hosting.Metrics;
using Federated.Transport.V1;
using Prometheus;

namespace Federated.Coordinator;

/// <summary>
/// The coordinator's Prometheus metrics (served on Host:MetricsPort). Labels are party ids, message types, job
/// states, audit record kinds and scheduler transitions: headers the coordinator sees anyway, never payloads, job
/// parameters or user data.
/// </summary>
public static class CoordinatorMetrics
{
    private static readonly MetricLabels MessageTypes = new();
    private static readonly MetricLabels Parties = new();

    private static readonly string[] LinkLabels = ["message_type", "sender", "receiver"];

    public static readonly Counter RelayMessages = Prometheus.Metrics.CreateCounter("federated_relay_messages_total",
        "Messages the relay accepted, by message type and direction (sender party -> receiver party).", LinkLabels);

    public static readonly Counter RelayBytes = Prometheus.Metrics.CreateCounter("federated_relay_bytes_total",
        "Sealed payload bytes the relay accepted, by message type and direction.", LinkLabels);

    public static readonly Counter RelayDropped = Prometheus.Metrics.CreateCounter("federated_relay_dropped_total",
        "Messages the relay dropped: old_sequence (replay or duplicate) or stale_generation.", "reason");

    public static readonly Counter RelayStreamsRefused = Prometheus.Metrics.CreateCounter("federated_relay_streams_refused_total",
        "Send streams the relay refused for breaking a relay limit (size, rate, in-flight bytes, incomplete-message timeout).");

    private static readonly Gauge LinkQueueMessages = Prometheus.Metrics.CreateGauge("federated_relay_link_queue_messages",
        "Messages held by the relay that the receiver has not acknowledged yet, per direction, over all unfinished jobs.", "sender", "receiver");

    private static readonly Gauge LinkQueueBytes = Prometheus.Metrics.CreateGauge("federated_relay_link_queue_bytes",
        "Sealed bytes held by the relay that the receiver has not acknowledged yet, per direction, over all unfinished jobs.", "sender", "receiver");

    private static readonly Gauge Jobs = Prometheus.Metrics.CreateGauge("federated_jobs",
        "Jobs known to the coordinator, by state.", "state");

    public static readonly Counter JobTransitions = Prometheus.Metrics.CreateCounter("federated_job_transitions_total",
        "Job state changes at the coordinator (from -> to).", "from", "to");

    public static readonly Counter AuditRecords = Prometheus.Metrics.CreateCounter("federated_audit_records_appended_total",
        "Records appended to the hash-chained audit log, by kind (relay, job).", "kind");

    public static readonly Counter SchedulerRuns = Prometheus.Metrics.CreateCounter("federated_scheduler_runs_total",
        "Scheduled runs by outcome (due, started, skipped, completed, failed, stopped).", "outcome");

    /// <summary>Counts one accepted relayed message.</summary>
    public static void Relayed(RelayHeader header, long bytes)
    {
        var labels = new[] { MessageTypes.Of(header.MessageType), Parties.Of(header.Sender), Parties.Of(header.Receiver) };
        RelayMessages.WithLabels(labels).Inc();
        RelayBytes.WithLabels(labels).Inc(bytes);
    }

    /// <summary>Counts a job's state change (nothing when the state stayed).</summary>
    public static void Transition(JobState from, JobState to)
    {
        if (from != to)
            JobTransitions.WithLabels(from == JobState.Unspecified ? "none" : Label(from), Label(to)).Inc();
    }

    /// <summary>A job state as a label value: pending, running, completed, failed, stopped.</summary>
    public static string Label(JobState state) => state.ToString().ToLowerInvariant();

    /// <summary>Jobs by state and the relay's link queues, read at every scrape.</summary>
    public static void Observe(JobStore jobs, RelayHub hub)
    {
        Prometheus.Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            var all = jobs.List(0);
            foreach (var state in Enum.GetValues<JobState>().Where(s => s != JobState.Unspecified))
                Jobs.WithLabels(Label(state)).Set(all.Count(j => j.State == state));
            var open = all.Where(j => !j.IsFinished).Select(j => j.Attempt.Value).ToHashSet(StringComparer.Ordinal);
            var links = hub.Links().Where(l => open.Contains(l.JobId)).ToList();
            foreach (var direction in hub.Links().Select(l => (l.Sender, l.Receiver)).Distinct())
            {
                var current = links.Where(l => (l.Sender, l.Receiver) == direction).ToList();
                var labels = new[] { Parties.Of(direction.Sender), Parties.Of(direction.Receiver) };
                LinkQueueMessages.WithLabels(labels).Set(current.Sum(l => l.PendingCount));
                LinkQueueBytes.WithLabels(labels).Set(current.Sum(l => l.PendingBytes));
            }
        });
    }
}
