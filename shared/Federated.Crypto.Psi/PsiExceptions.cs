using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>This party's own input is unusable (duplicate IDs, an ID with a line break, IDs missing in a delta round).</summary>
public sealed class PsiInputException(string message) : InputRejectedException(message);

/// <summary>
/// The persisted state of an earlier round cannot be used (missing, tampered, other role or domain): this party's own
/// files, so an input failure (not retried; the peer hears the category only).
/// </summary>
public sealed class PsiStateException(string message, Exception? inner = null) : InputRejectedException(message, inner);
