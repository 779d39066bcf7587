using Federated.Core.Jobs;
using Grpc.Core;

namespace Federated.Coordinator.Services;

/// <summary>Turns a request's job id into an attempt id, refusing an empty one with InvalidArgument (not an internal error).</summary>
internal static class RequestIds
{
    public static AttemptId Attempt(string jobId) => string.IsNullOrWhiteSpace(jobId)
        ? throw new RpcException(new Status(StatusCode.InvalidArgument, "job_id is missing"))
        : new AttemptId(jobId);
}
