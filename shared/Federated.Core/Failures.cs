namespace Federated.Core;

/// <summary>
/// What kind of failure ended a party's side of a job. One list for every protocol (PSI, training, diagnostics):
/// the party agent reports it to the coordinator, which retries only crash-like failures, and a peer abort carries it
/// so the other party can say why its peer stopped.
/// </summary>
public enum FailureCategory
{
    /// <summary>Anything not listed below: a bug, an exhausted resource.</summary>
    Internal = 0,
    /// <summary>The party's own data, files or settings were rejected (never retried).</summary>
    Input = 1,
    /// <summary>A message violated the protocol.</summary>
    Protocol = 2,
    /// <summary>The peer did not answer in time (it may have crashed).</summary>
    PeerTimeout = 3,
    /// <summary>The peer stopped the job and said so (its own category travels in the abort).</summary>
    PeerAborted = 4,
    /// <summary>The party restarted during a job that cannot resume in place.</summary>
    Interrupted = 5,
}

/// <summary>Classifies exceptions into <see cref="FailureCategory"/> by type, never by message text.</summary>
public static class Failures
{
    public static FailureCategory Classify(Exception exception) => exception switch
    {
        PeerAbortedException => FailureCategory.PeerAborted,
        TimeoutException => FailureCategory.PeerTimeout,
        ProtocolViolationException => FailureCategory.Protocol,
        InputRejectedException or InvalidDataException or FormatException or ArgumentException or FileNotFoundException
            or DirectoryNotFoundException or UnauthorizedAccessException or NotSupportedException => FailureCategory.Input,
        AggregateException { InnerExceptions.Count: 1 } a => Classify(a.InnerExceptions[0]),
        _ => FailureCategory.Internal,
    };

    /// <summary>
    /// What a party may tell its peer about its own failure: the category in words, never the local message (which
    /// can name files, rows or values the peer must not learn).
    /// </summary>
    public static string PeerSafeReason(FailureCategory category) => category switch
    {
        FailureCategory.Input => "the other party's own input was rejected",
        FailureCategory.Protocol => "the other party received a message that violates the protocol",
        FailureCategory.PeerTimeout => "the other party timed out waiting for a message",
        FailureCategory.PeerAborted => "the other party's peer aborted",
        FailureCategory.Interrupted => "the other party was interrupted",
        _ => "internal error at the other party",
    };
}
