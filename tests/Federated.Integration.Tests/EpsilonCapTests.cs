using Federated.PartyJobs;
using Federated.Transport.V1;

namespace Federated.Integration.Tests;

/// <summary>
/// A train job capped below what its schedule would spend (<c>maxEpsilon</c>) on the three real processes: M refuses
/// after the alignment, before any gradient crosses, and the job fails with the projected ε in its reason.
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
}
