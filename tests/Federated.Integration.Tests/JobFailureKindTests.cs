using Federated.Core;
using Federated.Agent;
using Federated.Transport.V1;

namespace Federated.Integration.Tests;

/// <summary>How a party agent classifies a job handler's exception for the coordinator (which retries crash-like kinds only).</summary>
public sealed class JobFailureKindTests
{
    [Fact]
    public void Exceptions_map_to_failure_kinds_without_reading_their_text()
    {
        Assert.Equal(FailureKind.PeerTimeout, JobFailures.Classify(new Federated.Training.Jobs.PeerTimeoutException("the music party did not answer")));
        Assert.Equal(FailureKind.PeerTimeout, JobFailures.Classify(new TimeoutException("x")));
        Assert.Equal(FailureKind.Protocol, JobFailures.Classify(new ProtocolViolationException("restarted during job")));
        Assert.Equal(FailureKind.Input, JobFailures.Classify(new Federated.Training.Data.TrainingDataException("M", "songs table has no rows")));
        Assert.Equal(FailureKind.Input, JobFailures.Classify(new Federated.Crypto.Psi.PsiInputException("duplicate ID")));
        Assert.Equal(FailureKind.Input, JobFailures.Classify(new ArgumentException("epochs")));
        Assert.Equal(FailureKind.PeerTimeout, JobFailures.Classify(new AggregateException(new TimeoutException("inner"))));
        Assert.Equal(FailureKind.Internal, JobFailures.Classify(new InvalidOperationException("did not answer within 5 s")));
    }
}
