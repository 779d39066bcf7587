namespace Federated.Security;

/// <summary>
/// A handshake or a sealed payload failed a check. The message names what failed (certificate, identity, role,
/// signature, job binding, header, sequence or authentication tag) and never contains key material or plaintext.
/// </summary>
public sealed class SealingException : Exception
{
    /// <summary>Creates the exception with a message that says what failed.</summary>
    public SealingException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public SealingException(string message, Exception innerException) : base(message, innerException) { }
}
