using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>This party's own input is unusable (duplicate IDs, an ID with a line break, IDs missing in a delta round).</summary>
public sealed class PsiInputException(string message) : InputRejectedException(message);

/// <summary>The persisted state of an earlier round cannot be used (missing, tampered, other role or domain).</summary>
public sealed class PsiStateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The peer stopped the PSI and said why (a category only: the peer never sends its IDs or details).</summary>
public sealed class PsiAbortedByPeerException(string reason)
    : Exception($"the peer aborted the PSI: {reason}")
{
    public string Reason { get; } = reason;
}
