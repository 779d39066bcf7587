namespace Federated.Core;

/// <summary>
/// Base of the errors caused by a party's own input (data tables, ID lists, schema files), so a failed job is
/// classified as such without matching message text (the coordinator does not retry these).
/// </summary>
public abstract class InputRejectedException(string message, Exception? inner = null) : Exception(message, inner);
