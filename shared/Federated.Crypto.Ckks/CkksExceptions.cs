namespace Federated.Crypto.Ckks;

/// <summary>Invalid or insecure encryption parameters.</summary>
public sealed class CkksParameterException(string message) : Exception(message);

/// <summary>Operands that cannot be combined: different parameters, levels, scales, or a missing key.</summary>
public sealed class CkksMismatchException(string message) : Exception(message);

/// <summary>Serialized bytes that cannot be read: wrong magic or version, foreign parameters, wrong level,
/// truncation, or out-of-range values. The message names the object and the field.</summary>
public sealed class CkksFormatException(string message) : Exception(message);

/// <summary>A decryption release was refused because the key's release budget is spent.</summary>
public sealed class ReleaseBudgetExhaustedException(string message) : Exception(message);
