using Federated.Hosting.Metrics;
using Prometheus;

namespace Federated.Agent;

/// <summary>
/// A party's Prometheus metrics (served on Host:MetricsPort). Labels are job kinds, job phases, outcomes and party
/// roles from the product's own fixed vocabulary; values are counts, seconds and row numbers. Never a feature value,
/// label, activation, key, user id or job parameter.
/// </summary>
public static class PartyMetrics
{
    private static readonly MetricLabels Kinds = new();
    private static readonly MetricLabels Phases = new();

    private static readonly Counter Jobs = Prometheus.Metrics.CreateCounter("federated_party_jobs_total",
        "Jobs this party ran, by job kind and outcome (completed, failed, cancelled).", "kind", "outcome");

    private static readonly Gauge Running = Prometheus.Metrics.CreateGauge("federated_party_jobs_running",
        "Jobs running at this party, by job kind.", "kind");

    private static readonly Counter Phase = Prometheus.Metrics.CreateCounter("federated_party_job_phases_total",
        "Job phases this party entered, by job kind and phase.", "kind", "phase");

    private static readonly Histogram StepSeconds = Prometheus.Metrics.CreateHistogram("federated_training_step_seconds",
        "Wall-clock seconds of one split-training step at this party (forward, encrypted exchange, backward).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });

    private static readonly Counter PsiIds = Prometheus.Metrics.CreateCounter("federated_psi_ids_total",
        "Own identifiers this party put through PSI (divide by federated_psi_seconds_total for IDs per second).");

    private static readonly Counter PsiSeconds = Prometheus.Metrics.CreateCounter("federated_psi_seconds_total",
        "Wall-clock seconds this party spent in PSI.");

    private static readonly Gauge PsiRate = Prometheus.Metrics.CreateGauge("federated_psi_ids_per_second",
        "Identifiers per second of this party's last PSI.");

    private static readonly Counter InferenceRows = Prometheus.Metrics.CreateCounter("federated_inference_rows_total",
        "Rows (users or songs) this party scored in inference, by job kind.", "kind");

    private static readonly Counter HeartbeatFailures = Prometheus.Metrics.CreateCounter("federated_heartbeat_failures_total",
        "Heartbeats to the coordinator that failed.");

    private static readonly Counter Registrations = Prometheus.Metrics.CreateCounter("federated_party_registrations_total",
        "Registrations with the coordinator, by outcome (ok, failed).", "outcome");

    public static void JobStarted(string kind) => Running.WithLabels(Kinds.Of(kind)).Inc();

    public static void JobEnded(string kind, string outcome)
    {
        var k = Kinds.Of(kind);
        Running.WithLabels(k).Dec();
        Jobs.WithLabels(k, outcome).Inc();
    }

    /// <summary>A phase named in words ("aligned users' vectors") becomes a label value (aligned_users_vectors).</summary>
    public static void EnteredPhase(string kind, string phase) =>
        Phase.WithLabels(Kinds.Of(kind), Phases.Of(PhaseLabel(phase))).Inc();

    public static string PhaseLabel(string phase) =>
        System.Text.RegularExpressions.Regex.Replace(phase.ToLowerInvariant(), "[^a-z0-9]+", "_").Trim('_');

    public static void TrainingStep(TimeSpan elapsed) => StepSeconds.Observe(elapsed.TotalSeconds);

    public static void Psi(long ids, TimeSpan elapsed)
    {
        PsiIds.Inc(ids);
        PsiSeconds.Inc(elapsed.TotalSeconds);
        if (elapsed > TimeSpan.Zero)
            PsiRate.Set(ids / elapsed.TotalSeconds);
    }

    public static void Inferred(string kind, long rows) => InferenceRows.WithLabels(Kinds.Of(kind)).Inc(rows);

    public static void HeartbeatFailed() => HeartbeatFailures.Inc();

    public static void Registered(bool ok) => Registrations.WithLabels(ok ? "ok" : "failed").Inc();
}
