namespace Federated.Operator;

/// <summary>A user-facing error of an operator tool: printed without a stack trace, exit code 1.</summary>
public sealed class OperatorException(string message) : Exception(message);
