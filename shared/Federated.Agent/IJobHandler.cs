using Federated.Core.Jobs;
using Federated.Core;
using Federated.Security;
using Microsoft.Extensions.Logging;

namespace Federated.Agent;

/// <summary>
/// Runs one job kind at one party. Register implementations in DI (<c>services.AddJobHandler&lt;T&gt;()</c>); the
/// party agent picks the handler by <see cref="Kind"/> when the coordinator assigns a job. The protocol logic lives
/// in the shared libraries; a handler only wires a role to the sealed peer channel.
/// </summary>
public interface IJobHandler
{
    /// <summary>Job kind, for example "ping", "stream", later "psi" and "train".</summary>
    string Kind { get; }

    /// <summary>
    /// True when the handler saves its progress with <see cref="JobContext.SaveCheckpointAsync"/> and can continue
    /// after a party restart. The relay then treats a message as consumed only once a checkpoint covers it. A job
    /// whose handler is not resumable fails when the party restarts in its middle.
    /// </summary>
    bool Resumable => false;

    /// <summary>Runs this party's side of the job. Set <see cref="JobContext.Summary"/> for the job report.</summary>
    Task RunAsync(JobContext context, IPeerChannel peer, CancellationToken cancellationToken);
}

/// <summary>What a handler knows about its job.</summary>
public sealed class JobContext
{
    private readonly Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> _saveCheckpoint;

    public JobContext(AttemptId attempt, string kind, IReadOnlyDictionary<string, string> parameters, string selfPartyId, PartyRole selfRole,
        string peerPartyId, byte[]? restoredState, ILogger logger, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> saveCheckpoint)
    {
        Attempt = attempt;
        Kind = kind;
        Parameters = parameters;
        SelfPartyId = selfPartyId;
        SelfRole = selfRole;
        PeerPartyId = peerPartyId;
        RestoredState = restoredState;
        Logger = logger;
        _saveCheckpoint = saveCheckpoint;
    }

    /// <summary>The coordinator's id of this attempt of the job (a retry is a new attempt).</summary>
    public AttemptId Attempt { get; }
    public string Kind { get; }
    public IReadOnlyDictionary<string, string> Parameters { get; }
    public string SelfPartyId { get; }
    public PartyRole SelfRole { get; }
    public string PeerPartyId { get; }

    /// <summary>The handler state of the last checkpoint when this run resumes after a restart; otherwise null.</summary>
    public byte[]? RestoredState { get; }

    public bool IsResume => RestoredState is not null;
    public ILogger Logger { get; }

    /// <summary>One line for the job report (shown by the CLI). Never put data values or key material here.</summary>
    public string Summary { get; set; } = "";

    /// <summary>Saves the handler's state atomically with the relay position of the last message received.</summary>
    public ValueTask SaveCheckpointAsync(ReadOnlyMemory<byte> state, CancellationToken cancellationToken) => _saveCheckpoint(state, cancellationToken);

    public int GetInt(string name, int defaultValue, int min, int max)
    {
        if (!Parameters.TryGetValue(name, out var text))
            return defaultValue;
        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new ArgumentException($"job {Attempt}: parameter '{name}' = '{text}' must be an integer between {min} and {max}");
        return value;
    }
}
