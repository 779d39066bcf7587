using Federated.Core.Jobs;
using Federated.Coordinator.Jobs;
using Federated.Coordinator.Relay;
using Federated.Hosting.Access;
using Federated.Security;
using Federated.Transport.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Federated.Coordinator.Services;

public sealed class JobsService(JobStore jobs, JobCreator creator, RelayHub relay, AuditTrail audit, Federated.Coordinator.Privacy.PrivacyLedger privacy,
    ILogger<JobsService> logger) : Transport.V1.Jobs.JobsBase
{
    [Authorize(Policy = FederatedPolicies.Operator)]
    public override Task<JobInfo> CreateJob(CreateJobRequest request, ServerCallContext context)
    {
        var op = context.Caller();
        var job = creator.Create(request.Kind, new Dictionary<string, string>(request.Parameters), request.MusicPartyId, request.ExternalPartyId, op.PartyId);
        return Task.FromResult(JobStore.ToProto(job, relay.Stats(job.Attempt.Value, job.MusicPartyId)));
    }

    [Authorize(Policy = FederatedPolicies.Operator)]
    public override Task<JobInfo> StopJob(StopJobRequest request, ServerCallContext context)
    {
        var op = context.Caller();
        try
        {
            var job = jobs.Stop(RequestIds.Attempt(request.JobId), string.IsNullOrWhiteSpace(request.Reason) ? $"stopped by {op.PartyId}" : request.Reason);
            audit.JobEvent(job.Attempt.Value, "stopped", new Dictionary<string, object?> { ["operator"] = op.PartyId, ["reason"] = job.Reason });
            relay.Wake(job.Attempt.Value);
            return Task.FromResult(JobStore.ToProto(job, relay.Stats(job.Attempt.Value, job.MusicPartyId)));
        }
        catch (KeyNotFoundException e)
        {
            throw new RpcException(new Status(StatusCode.NotFound, e.Message));
        }
    }

    [Authorize(Policy = FederatedPolicies.PartyOrOperator)]
    public override Task<ListJobsReply> ListJobs(ListJobsRequest request, ServerCallContext context)
    {
        var who = context.Caller();
        var reply = new ListJobsReply();
        reply.Jobs.AddRange(jobs.List(request.Max)
            .Where(j => who.Role == PartyRole.Operator || j.Involves(who.PartyId))
            .Select(j => JobStore.ToProto(j, relay.Stats(j.Attempt.Value, j.MusicPartyId))));
        return Task.FromResult(reply);
    }

    [Authorize(Policy = FederatedPolicies.PartyOrOperator)]
    public override Task<JobInfo> GetJob(GetJobRequest request, ServerCallContext context)
    {
        var job = Visible(request.JobId, context.Caller());
        return Task.FromResult(JobStore.ToProto(job, relay.Stats(job.Attempt.Value, job.MusicPartyId)));
    }

    private JobRecord Visible(string jobId, FederatedCaller who)
    {
        var job = jobs.Find(RequestIds.Attempt(jobId));
        if (job is null || (who.Role != PartyRole.Operator && !job.Involves(who.PartyId)))
            throw new RpcException(new Status(StatusCode.NotFound, $"job '{jobId}' does not exist"));
        return job;
    }

    [Authorize(Policy = FederatedPolicies.PartyOrOperator)]
    public override async Task WatchJobEvents(WatchJobEventsRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        var who = context.Caller();
        var job = Visible(request.JobId, who);
        string? last = null;
        while (!context.CancellationToken.IsCancellationRequested)
        {
            var wait = jobs.Changed.Current;
            job = jobs.Find(RequestIds.Attempt(request.JobId))!;
            var fingerprint = $"{job.State}|{string.Join('|', job.Parties.Select(p => $"{p.Key}:{p.Value.State}:{p.Value.Starts}"))}";
            if (fingerprint != last)
            {
                last = fingerprint;
                await responseStream.WriteAsync(new JobEvent
                {
                    JobId = job.Attempt.Value, Time = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), Kind = "state", State = job.State,
                    Detail = string.Join("; ", job.Parties.Select(p => $"{p.Key}: {p.Value.State} {p.Value.Summary}")),
                }).ConfigureAwait(false);
            }
            if (job.IsFinished)
                return;
            try { await wait.WaitAsync(context.CancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    [Authorize(Policy = FederatedPolicies.Party)]
    public override async Task WatchAssignments(WatchAssignmentsRequest request, IServerStreamWriter<JobAssignment> responseStream, ServerCallContext context)
    {
        var party = context.Caller();
        var sent = new HashSet<string>(StringComparer.Ordinal);
        var cancelled = new HashSet<string>(StringComparer.Ordinal);
        var ct = context.CancellationToken;
        while (!ct.IsCancellationRequested)
        {
            var wait = jobs.Changed.Current;
            foreach (var job in jobs.List(0).Where(j => j.Involves(party.PartyId)).OrderBy(j => j.Created))
            {
                var mine = job.Parties[party.PartyId];
                var partyDone = mine.State is JobState.Completed or JobState.Failed;
                if (!job.IsFinished && !partyDone && sent.Add(job.Attempt.Value))
                {
                    var assignment = new JobAssignment { JobId = job.Attempt.Value, Kind = job.Kind, PeerPartyId = job.PeerOf(party.PartyId), PreviousStarts = mine.Starts };
                    assignment.Parameters.Add(job.Parameters.ToDictionary());
                    await responseStream.WriteAsync(assignment, ct).ConfigureAwait(false);
                }
                else if (job.State is JobState.Stopped or JobState.Failed && !partyDone && sent.Contains(job.Attempt.Value) && cancelled.Add(job.Attempt.Value))
                {
                    await responseStream.WriteAsync(new JobAssignment { JobId = job.Attempt.Value, Kind = job.Kind, Cancelled = true, CancelReason = job.Reason }, ct).ConfigureAwait(false);
                }
            }
            try { await wait.WaitAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    [Authorize(Policy = FederatedPolicies.Party)]
    public override Task<ReportJobStateReply> ReportJobState(ReportJobStateRequest request, ServerCallContext context)
    {
        var party = context.Caller();
        var job = Visible(request.JobId, party);
        if (request.State is not (JobState.Running or JobState.Completed or JobState.Failed))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"a party reports Running, Completed or Failed, not {request.State}"));
        // The ledger settles before the report can finish the job: whoever sees the job finished sees its ε charged
        // (or released), so a job created next is capped by what is really left.
        privacy.OnReport(job, party.PartyId, request.State, request.Summary, request.Failure);
        var (before, after) = jobs.Report(job.Attempt, party.PartyId, request.State, request.Summary, request.Failure);
        var details = new Dictionary<string, object?> { ["party"] = party.PartyId, ["state"] = request.State.ToString(), ["summary"] = request.Summary };
        if (request.State == JobState.Failed) details["failure"] = request.Failure.ToString();
        audit.JobEvent(job.Attempt.Value, "party-state", details);
        if (before.State != after.State)
        {
            audit.JobEvent(job.Attempt.Value, "state", new Dictionary<string, object?> { ["state"] = after.State.ToString() });
            logger.LogInformation("Job {JobId} is {State}", job.Attempt.Value, after.State);
            if (after.IsFinished)
                relay.Wake(job.Attempt.Value);
        }
        return Task.FromResult(new ReportJobStateReply { JobState = after.State });
    }

    [Authorize(Policy = FederatedPolicies.Party)]
    public override Task<AuditHead> GetAuditHead(GetAuditHeadRequest request, ServerCallContext context)
    {
        Visible(request.JobId, context.Caller()); // only for a job of the caller's
        var head = audit.Head();
        return Task.FromResult(new AuditHead { Index = head.Index, Hash = head.Hash, JobId = head.JobId, Time = head.Time });
    }
}
