using System.Text.RegularExpressions;

namespace Federated.PartyJobs.Serving;

/// <summary>
/// The music party's serving settings (section <c>Serving</c>): where its published embedding versions live and who
/// may call its serving API. Callers are named by the party id (certificate CN) or the SHA-256 fingerprint (64 hex
/// digits) of a certificate from the federation's CA; the TLS handshake has already checked the chain.
/// </summary>
public sealed partial class ServingOptions
{
    public const string SectionName = "Serving";

    /// <summary>Folder of the published versions; relative paths are under the agent's state folder. Default: serving.</summary>
    public string StoreDirectory { get; set; } = "serving";

    /// <summary>How many versions are kept (the serving one and the one before it are always kept).</summary>
    public int KeepVersions { get; set; } = 5;

    /// <summary>Callers of the recall API (M's own serving clients). Empty: nobody.</summary>
    public string[] AllowedCallers { get; set; } = [];

    /// <summary>Callers of the model-version API (list, show, roll back). Empty: nobody.</summary>
    public string[] Administrators { get; set; } = [];

    /// <summary>Largest K (songs per answer) and N (users per audience) a request may ask for.</summary>
    public int MaxResults { get; set; } = 1000;

    /// <summary>Most ids one request may carry.</summary>
    public int MaxBatch { get; set; } = 4096;

    /// <summary>Optional: after each publication, recall and audience lists are written to this Redis.</summary>
    public RedisPushOptions? Redis { get; set; }

    /// <summary>Checks every setting once at start-up; the message names the setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(StoreDirectory)) throw new InvalidOperationException($"{SectionName}:StoreDirectory must not be empty");
        if (KeepVersions < 2) throw new InvalidOperationException($"{SectionName}:KeepVersions must be at least 2 (the serving version and one to roll back to), got {KeepVersions}");
        if (MaxResults is < 1 or > 100_000) throw new InvalidOperationException($"{SectionName}:MaxResults must be 1..100000, got {MaxResults}");
        if (MaxBatch is < 1 or > 1_000_000) throw new InvalidOperationException($"{SectionName}:MaxBatch must be 1..1000000, got {MaxBatch}");
        Redis?.Validate(MaxResults);
        CheckCallers(AllowedCallers, nameof(AllowedCallers));
        CheckCallers(Administrators, nameof(Administrators));
    }

    private static void CheckCallers(string[] callers, string name)
    {
        for (int i = 0; i < callers.Length; i++)
            if (string.IsNullOrWhiteSpace(callers[i]) || !CallerName().IsMatch(callers[i]))
                throw new InvalidOperationException($"{SectionName}:{name}:{i} = '{callers[i]}' is neither a party id nor a SHA-256 certificate fingerprint");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex CallerName();
}

/// <summary>
/// Section <c>Serving:Redis</c>: where M pushes each published version's recall lists (per user) and audience lists
/// (per new song) for online serving that needs no call to M.
/// </summary>
public sealed class RedisPushOptions
{
    /// <summary>A StackExchange.Redis connection string, for example <c>127.0.0.1:6379</c>. Empty: no push.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Key prefix (<c>{prefix}:{version}:recall:{user}</c>, <c>{prefix}:current</c>).</summary>
    public string Prefix { get; set; } = "federated";

    /// <summary>Lifetime of a version's lists.</summary>
    public int TtlHours { get; set; } = 168;

    /// <summary>Songs per user list.</summary>
    public int RecallDepth { get; set; } = 100;

    /// <summary>Users per new song's audience.</summary>
    public int AudienceSize { get; set; } = 100;

    public bool Enabled => !string.IsNullOrWhiteSpace(ConnectionString);

    public void Validate(int maxResults)
    {
        const string section = ServingOptions.SectionName + ":Redis";
        if (string.IsNullOrWhiteSpace(Prefix) || Prefix.Contains(' ', StringComparison.Ordinal)) throw new InvalidOperationException($"{section}:Prefix must be non-empty without spaces, got '{Prefix}'");
        if (TtlHours is < 1 or > 24 * 365) throw new InvalidOperationException($"{section}:TtlHours must be 1..8760, got {TtlHours}");
        if (RecallDepth < 1 || RecallDepth > maxResults) throw new InvalidOperationException($"{section}:RecallDepth must be 1..{maxResults} (Serving:MaxResults), got {RecallDepth}");
        if (AudienceSize < 1 || AudienceSize > maxResults) throw new InvalidOperationException($"{section}:AudienceSize must be 1..{maxResults} (Serving:MaxResults), got {AudienceSize}");
        if (Enabled)
        {
            try { StackExchange.Redis.ConfigurationOptions.Parse(ConnectionString); }
            catch (ArgumentException e) { throw new InvalidOperationException($"{section}:ConnectionString is not a Redis connection string: {e.Message}"); }
        }
    }
}
