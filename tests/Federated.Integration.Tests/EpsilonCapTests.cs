using Federated.PartyJobs;
using Federated.Transport.V1;

namespace Federated.Integration.Tests;

/// <summary>
/// Privacy settings the parties refuse on the three real processes: a train job capped below what its schedule would
/// spend (<c>maxEpsilon</c>) fails after the alignment, before any gradient crosses, with the projected ε in its reason;
/// a <c>seed</c> without <c>insecure=fixed-seed</c> fails at once.
/// </summary>
[Collection(TrainFederationCollection.Name)]
public sealed class EpsilonCapTests(TrainFederationFixture fixture)
{
    [Fact]
    public async Task A_job_whose_schedule_would_spend_more_than_its_epsilon_cap_fails_before_training()
    {
        using var op = fixture.Connect();
        var request = TrainFederationFixture.NewJob(TrainJobHandler.JobKind,
            ("trainingJob", "it-capped"), ("evaluationUsers", fixture.EvaluationUsersFile), ("batchSize", "256"), ("pretrainEpochs", "1"),
            ("epochs", "3"), ("torchThreads", "1"), ("messageTimeoutSeconds", "120"), ("maxEpsilon", "0.05"));
        var created = await op.Jobs.CreateJobAsync(request);
        var job = await fixture.WaitForJobAsync(op, created.JobId, TimeSpan.FromMinutes(3));

        Assert.Equal(JobState.Failed, job.State);
        var music = job.Parties.Single(p => p.PartyId == "music");
        Assert.Contains("above its cap maxEpsilon = 0.05", music.Summary + " " + job.Reason);
        // No training step ran: M's progress file never reached the training phase.
        var progress = fixture.ProgressOf("music", "it-capped");
        Assert.True(progress is null || progress.Phase != "training", $"M reached phase {progress?.Phase}");
    }

    [Fact]
    public async Task A_job_with_a_seed_but_without_the_fixed_seed_flag_is_refused_by_both_parties_with_the_reason()
    {
        using var op = fixture.Connect();
        var request = TrainFederationFixture.NewJob(TrainJobHandler.JobKind,
            ("trainingJob", "it-seeded"), ("evaluationUsers", fixture.EvaluationUsersFile), ("epochs", "1"), ("seed", "7"));
        var created = await op.Jobs.CreateJobAsync(request);
        var job = await fixture.WaitForJobAsync(op, created.JobId, TimeSpan.FromMinutes(2));

        Assert.Equal(JobState.Failed, job.State);
        var text = string.Join(" ", job.Parties.Select(p => p.Summary)) + " " + job.Reason;
        Assert.Contains("'seed' is refused", text);
        Assert.Contains("insecure=fixed-seed", text);
        Assert.Null(fixture.ProgressOf("music", "it-seeded"));
        // Not retried: a wrong parameter is the operator's to fix.
        Assert.DoesNotContain((await op.Jobs.ListJobsAsync(new ListJobsRequest())).Jobs,
            j => j.Parameters.TryGetValue("retryOf", out var of) && of == created.JobId);
    }
}
