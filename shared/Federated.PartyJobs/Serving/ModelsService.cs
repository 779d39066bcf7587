using System.Globalization;
using Federated.Serving.Publication;
using Federated.Serving.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Logging;

namespace Federated.PartyJobs.Serving;

/// <summary>M's model versions over gRPC: list, show, roll back. Only M's administrators (<see cref="ServingOptions.Administrators"/>).</summary>
[Authorize(Policy = ServingPolicies.ModelAdministrator)]
public sealed class ModelsService(EmbeddingVersionStore store, ILogger<ModelsService> logger) : Models.ModelsBase
{
    public override Task<ListVersionsReply> ListVersions(ListVersionsRequest request, ServerCallContext context)
    {
        var reply = new ListVersionsReply();
        reply.Versions.AddRange(store.List().Select(ToProto));
        return Task.FromResult(reply);
    }

    public override Task<ModelVersion> ShowVersion(ShowVersionRequest request, ServerCallContext context)
    {
        var version = RequireVersion(request.Version, "version");
        return Task.FromResult(ToProto(Find(version)));
    }

    public override Task<ModelVersion> Rollback(RollbackRequest request, ServerCallContext context)
    {
        var target = string.IsNullOrEmpty(request.Version) ? null : RequireVersion(request.Version, "version");
        try
        {
            var set = store.Rollback(target);
            logger.LogWarning("Serving version rolled back to {Version} by {Caller}", set.Manifest.Version, context.GetHttpContext().User.Identity?.Name);
            return Task.FromResult(ToProto(Find(set.Manifest.Version)));
        }
        catch (KeyNotFoundException e) { throw new RpcException(new Status(StatusCode.NotFound, e.Message)); }
        catch (InvalidOperationException e) { throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message)); }
        catch (InvalidDataException e) { throw new RpcException(new Status(StatusCode.DataLoss, $"version {target} is damaged and was not switched to: {e.Message}")); }
    }

    private PublishedVersion Find(string version) =>
        store.List().FirstOrDefault(v => v.Version == version)
        ?? throw new RpcException(new Status(StatusCode.NotFound,
            $"unknown model version '{version}' (published: {string.Join(", ", store.List().Select(v => v.Version))})"));

    internal static string RequireVersion(string value, string field)
    {
        if (string.IsNullOrEmpty(value)) throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} is empty"));
        if (value.Length is < 2 or > 32 || value[0] != 'v' || value.AsSpan(1).ContainsAnyExceptInRange('0', '9'))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} '{Truncate(value)}' is not a model version (v1, v2, ...)"));
        return value;
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "...";

    internal static ModelVersion ToProto(PublishedVersion version)
    {
        var m = version.Manifest;
        var proto = new ModelVersion
        {
            Version = version.Version,
            Current = version.Current,
            TrainingJob = m.TrainingJob,
            AttemptId = m.AttemptId,
            Round = m.Round,
            Created = m.Created.ToString("O", CultureInfo.InvariantCulture),
            Dimensions = m.Dimensions,
            Items = m.Items,
            Users = m.Users,
            SchemaFingerprint = m.SchemaFingerprint,
        };
        foreach (var (name, value) in m.Metrics) proto.Metrics[name] = value;
        return proto;
    }
}
