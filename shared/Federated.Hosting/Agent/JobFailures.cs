using Federated.Core;
using Federated.Transport.V1;

namespace Federated.Hosting.Agent;

/// <summary>What kind of failure an exception from a job handler is; the coordinator retries only crash-like ones.</summary>
public static class JobFailures
{
    public static FailureKind Classify(Exception e) => e switch
    {
        TimeoutException => FailureKind.PeerTimeout,              // includes a pipeline's peer timeout
        ProtocolViolationException => FailureKind.Protocol,
        InputRejectedException or InvalidDataException or FormatException or ArgumentException or FileNotFoundException or DirectoryNotFoundException
            or UnauthorizedAccessException or NotSupportedException => FailureKind.Input,
        AggregateException { InnerExceptions.Count: 1 } a => Classify(a.InnerExceptions[0]),
        _ => FailureKind.Internal,
    };
}
