namespace Federated.Coordinator;

/// <summary>The coordinator's settings ("Coordinator" section).</summary>
public sealed class CoordinatorOptions
{
    public const string SectionName = "Coordinator";

    /// <summary>Folder of the registry and jobs (coordinator.db), the job definitions (schedules.db) and the audit log (audit.db).</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Certificate files (PEM) of parties to enrol at startup: party id and role come from each certificate's
    /// subject (CN, OU), the fingerprint is pinned. An operator can also enrol and revoke at run time.
    /// </summary>
    public List<string> EnrollCertificates { get; set; } = [];

    /// <summary>
    /// When a party is enrolled with a new certificate (a rotation), its previous certificate stays accepted this
    /// long (at most until it expires), so the party can switch while its jobs run. 0 = retired at once.
    /// </summary>
    public int CertificateOverlapSeconds { get; set; } = 86_400;

    /// <summary>How often parties should send a heartbeat.</summary>
    public int HeartbeatSeconds { get; set; } = 10;

    /// <summary>A party without a heartbeat for this long is shown offline.</summary>
    public int OfflineAfterSeconds { get; set; } = 35;

    /// <summary>
    /// A running job fails when one of its parties has sent no heartbeat for this long (it crashed and did not come
    /// back), so the other party does not wait forever. Must exceed <see cref="HeartbeatSeconds"/> clearly.
    /// </summary>
    public int PartyLostSeconds { get; set; } = 180;

    /// <summary>
    /// Test and audit aid, off by default (empty): when set, every accepted relayed message's sealed payload is also
    /// written to <c>&lt;folder&gt;/&lt;job&gt;/&lt;sender&gt;-&lt;sequence&gt;-g&lt;generation&gt;.sealed</c>, so a check can show that the
    /// coordinator relayed only opaque bytes and that each matches its audit record's SHA-256. It stores nothing the
    /// coordinator does not already see; it only costs disk.
    /// </summary>
    public string TranscriptDirectory { get; set; } = "";

    /// <summary>
    /// Label-DP budget (ε) per partner, by external party id, across all its train jobs and rounds; a partner not named
    /// here gets <see cref="DefaultPrivacyBudget"/>. A train job is refused when its partner has none left, and runs
    /// with <c>maxEpsilon</c> lowered to what is left.
    /// </summary>
    public Dictionary<string, double> PrivacyBudgets { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The budget of a partner not in <see cref="PrivacyBudgets"/>; null (default) = not limited, still recorded.</summary>
    public double? DefaultPrivacyBudget { get; set; }

    /// <summary>A train job that may spend more ε than this (or has no cap) gets a warning in the log and the audit log.</summary>
    public double? WarnEpsilon { get; set; }

    /// <summary>Throws naming the setting when a budget or the warning level is not a positive finite number.</summary>
    public void Validate()
    {
        static bool Positive(double v) => v > 0 && double.IsFinite(v);
        if (CertificateOverlapSeconds is < 0 or > 90 * 86_400)
            throw new InvalidOperationException($"Coordinator:CertificateOverlapSeconds = {CertificateOverlapSeconds} is outside 0-7776000 (90 days)");
        foreach (var (partner, budget) in PrivacyBudgets)
            if (!Positive(budget))
                throw new InvalidOperationException($"Coordinator:PrivacyBudgets:{partner} = {budget} must be a positive, finite ε");
        if (DefaultPrivacyBudget is { } d && !Positive(d))
            throw new InvalidOperationException($"Coordinator:DefaultPrivacyBudget = {d} must be a positive, finite ε");
        if (WarnEpsilon is { } w && !Positive(w))
            throw new InvalidOperationException($"Coordinator:WarnEpsilon = {w} must be a positive, finite ε");
    }

    public string PrivacyLedgerPath => Path.Combine(Path.GetFullPath(DataDirectory), "privacy.db");

    public string RegistryDatabasePath => Path.Combine(Path.GetFullPath(DataDirectory), "coordinator.db");
    /// <summary>Job definitions and their runs (owner read/write only).</summary>
    public string SchedulesDatabasePath => Path.Combine(Path.GetFullPath(DataDirectory), "schedules.db");

    public string AuditDatabasePath => Path.Combine(Path.GetFullPath(DataDirectory), "audit.db");
}
