using Federated.Agent;
using Federated.Core;
using Federated.Security;
using Federated.PartyJobs.Serving;
using Federated.Training.Inference;
using Federated.Training.Jobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Federated.PartyJobs;

/// <summary>
/// "infer": a live inference session over a finished training job (docs/protocol.md §4.4), open until the operator
/// stops the job. Parameters: those of the training job it serves (<see cref="TrainJobParameters"/>: the same
/// <c>trainingJob</c>, round, shape and mode settings), plus <c>decoyFactor</c> (4..64, default 4: a request for n users
/// is sent to E as n x this many rows) and <c>maxUsersPerRequest</c> (default 1024). At M the session is handed to the
/// recall API, which asks it for users new to M; E serves requests until M closes the session.
/// </summary>
public sealed class InferJobHandler(IConfiguration configuration, IOptions<PartyAgentOptions> agent, LiveInference? live = null) : IJobHandler
{
    public const string JobKind = "infer";

    public string Kind => JobKind;

    public async Task RunAsync(JobContext context, IPeerChannel peer, CancellationToken cancellationToken)
    {
        var party = context.SelfRole switch
        {
            PartyRole.Music => MusicPartyJob.Party,
            PartyRole.External => ExternalPartyJob.Party,
            var role => throw new InvalidOperationException($"job {context.Attempt}: a {role} cannot run an infer job"),
        };
        var parameters = TrainJobParameters.Parse(context.Attempt, context.Parameters);
        var options = new InferenceSessionOptions
        {
            Training = parameters.Options,
            SessionId = context.Attempt.Value,
            DecoyFactor = JobParameterValues.Int(JobKind, context.Parameters, "decoyFactor", 4, 4, 64),
            MaxUsersPerRequest = JobParameterValues.Int(JobKind, context.Parameters, "maxUsersPerRequest", 1024, 1, 65_536),
        };
        var (data, jobs) = TrainJobFolders.PartyFolders(configuration, agent.Value.StateDirectory, context.SelfPartyId);
        var paths = new PartyJobPaths(data, TrainJobFolders.JobFolder(jobs, parameters.TrainingJob), parameters.PartySeed(party));
        if (context.SelfRole == PartyRole.External)
        {
            var stats = await ExternalInferenceSession.ServeAsync(peer, paths, options, null, cancellationToken).ConfigureAwait(false);
            PartyMetrics.Inferred(JobKind, (long)stats.RowsServed);
            context.Summary = $"{party}: served {stats.Requests} inference requests, {stats.RowsServed} rows (wanted users and decoys); {TrainJobHandler.CkksText(options.Training).TrimEnd(' ', ';')}";
            return;
        }
        if (live is null) throw new InvalidOperationException($"party {context.SelfPartyId}: this host does not serve recall, so it cannot hold an inference session");
        var session = await MusicInferenceSession.OpenAsync(peer, paths, options, cancellationToken).ConfigureAwait(false);
        await using (session.ConfigureAwait(false))
        {
            live.Add(session);
            context.Logger.LogInformation("Inference session for training job {TrainingJob} round {Round} open (decoy factor {Factor}, up to {Max} users per request)",
                parameters.TrainingJob, options.Training.Round, options.DecoyFactor, options.MaxUsersPerRequest);
            try
            {
                // Open until the job is stopped; a session that failed (E gone, a protocol error) ends the job.
                while (session.Unavailable is null)
                    await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                throw new InvalidOperationException(session.Unavailable);
            }
            finally
            {
                live.Remove(session);
                var s = session.Stats;
                PartyMetrics.Inferred(JobKind, (long)s.RowsServed);
                context.Summary = $"{party}: answered {s.Requests} inference requests for {s.UsersAsked} users, {s.RowsServed} rows sent to E; {TrainJobHandler.CkksText(options.Training).TrimEnd(' ', ';')}";
            }
        }
    }
}
