using Federated.Coordinator.Scheduling;
using Federated.Hosting.Access;
using Federated.Scheduling;
using Federated.Transport.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Federated.Coordinator.Services;

/// <summary>
/// Job definitions and their runs (operator only). A submitted definition is validated whole, against the registry
/// too, before anything is stored; a refusal is InvalidArgument with the wrong field's path first.
/// </summary>
[Authorize(Policy = FederatedPolicies.Operator)]
public sealed class JobDefinitionsService(ScheduleEngine engine, RegistryDefinitionParties parties, ILogger<JobDefinitionsService> logger)
    : Transport.V1.JobDefinitions.JobDefinitionsBase
{
    public override Task<JobDefinitionInfo> SubmitDefinition(SubmitDefinitionRequest request, ServerCallContext context)
    {
        var op = context.Caller();
        JobDefinition definition;
        try
        {
            definition = JobDefinitionParser.Parse(request.Yaml, parties);
        }
        catch (JobDefinitionException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        var stored = engine.Submit(definition, request.Yaml, op.PartyId);
        logger.LogInformation("Operator {Operator} submitted job definition {Name} (revision {Revision})", op.PartyId, stored.Name, stored.Revision);
        return Task.FromResult(Info(stored));
    }

    public override Task<ListDefinitionsReply> ListDefinitions(ListDefinitionsRequest request, ServerCallContext context)
    {
        var reply = new ListDefinitionsReply();
        reply.Definitions.AddRange(engine.Store.Definitions().Select(Info));
        return Task.FromResult(reply);
    }

    public override Task<ListRunsReply> ListRuns(ListRunsRequest request, ServerCallContext context)
    {
        var runs = engine.Store.Runs(request.Name, request.Max);
        if (runs.Count == 0 && engine.Store.Find(request.Name) is null)
            throw new RpcException(new Status(StatusCode.NotFound, $"no job definition '{request.Name}' and no runs of one"));
        var reply = new ListRunsReply();
        reply.Runs.AddRange(runs.Select(ToProto));
        return Task.FromResult(reply);
    }

    public override Task<ScheduledRunInfo> RunNow(DefinitionRequest request, ServerCallContext context) =>
        Task.FromResult(ToProto(Guard(() => engine.RunNow(request.Name, context.Caller().PartyId))));

    public override Task<JobDefinitionInfo> SetDefinitionEnabled(SetDefinitionEnabledRequest request, ServerCallContext context) =>
        Task.FromResult(Info(Guard(() => engine.SetEnabled(request.Name, request.Enabled, context.Caller().PartyId))));

    public override Task<RemoveDefinitionReply> RemoveDefinition(DefinitionRequest request, ServerCallContext context)
    {
        Guard(() =>
        {
            engine.Remove(request.Name, context.Caller().PartyId);
            return true;
        });
        return Task.FromResult(new RemoveDefinitionReply { Name = request.Name });
    }

    private static T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (ScheduleException e)
        {
            throw new RpcException(new Status(e.NotFound ? StatusCode.NotFound : StatusCode.FailedPrecondition, e.Message));
        }
    }

    private JobDefinitionInfo Info(StoredDefinition stored)
    {
        var d = stored.Definition;
        var info = new JobDefinitionInfo
        {
            Name = d.Name, Kind = d.Kind, MusicPartyId = d.MusicParty, ExternalPartyId = d.ExternalParty,
            Cron = d.Schedule?.Cron ?? "", TimeZone = d.Schedule?.Zone.Id ?? "", Misfire = JobDefinition.MisfireText(d.Misfire),
            RoundTimeoutSeconds = d.RoundTimeout.TotalSeconds, Enabled = stored.Enabled, Revision = stored.Revision,
            Submitted = Timestamp.FromDateTimeOffset(stored.Submitted),
            NextSlot = engine.NextSlot(stored) is { } next ? Timestamp.FromDateTimeOffset(next) : null,
            LastRun = engine.Store.Runs(d.Name, 1).FirstOrDefault() is { } last ? ToProto(last) : null,
        };
        info.Parameters.Add(d.Parameters.ToDictionary());
        return info;
    }

    public static ScheduledRunInfo ToProto(ScheduledRun run) => new()
    {
        RunId = run.RunId,
        Definition = run.Definition,
        Slot = Time(run.Slot),
        Trigger = ScheduledRun.TriggerText(run.Trigger),
        State = run.State switch
        {
            RunState.Waiting => ScheduledRunState.Waiting,
            RunState.Running => ScheduledRunState.Running,
            RunState.Completed => ScheduledRunState.Completed,
            RunState.Failed => ScheduledRunState.Failed,
            RunState.Stopped => ScheduledRunState.Stopped,
            _ => ScheduledRunState.Skipped,
        },
        JobId = run.JobId ?? "",
        Reason = run.Reason,
        Created = Timestamp.FromDateTimeOffset(run.Created),
        Started = Time(run.Started),
        Finished = Time(run.Finished),
        SummaryJson = run.Summary,
    };

    private static Timestamp? Time(DateTimeOffset? time) => time is { } t ? Timestamp.FromDateTimeOffset(t) : null;
}
