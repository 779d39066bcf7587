using Federated.Core;
using Federated.Transport.V1;

namespace Federated.Agent;

/// <summary>The failure kind a party reports to the coordinator (which retries only crash-like ones), from <see cref="Failures"/>.</summary>
public static class JobFailures
{
    public static FailureKind Classify(Exception e) => ToWire(Failures.Classify(e));

    public static FailureKind ToWire(FailureCategory category) => category switch
    {
        FailureCategory.Input => FailureKind.Input,
        FailureCategory.Protocol => FailureKind.Protocol,
        FailureCategory.PeerTimeout => FailureKind.PeerTimeout,
        // The peer stopped and reports its own failure kind to the coordinator; this side's report is not a reason to retry.
        FailureCategory.PeerAborted => FailureKind.Internal,
        FailureCategory.Interrupted => FailureKind.Interrupted,
        _ => FailureKind.Internal,
    };
}
