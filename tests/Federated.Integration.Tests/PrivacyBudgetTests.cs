using System.Globalization;
using System.Text.Json;
using Federated.Audit;
using Federated.Launcher;
using Federated.PartyJobs;
using Federated.Transport.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Federated.Integration.Tests;

/// <summary>A federation whose coordinator gives the external partner a label-DP budget of ε 1 and warns above 0.5.</summary>
public sealed class PrivacyBudgetFixture() : TinyWorldFederationFixture("budget")
{
    public const double Budget = 1.0;

    protected override LocalFederationOptions Configure(LocalFederationOptions options)
    {
        var hosts = WithWorld(options);
        return hosts with
        {
            ExtraArguments = [.. hosts.ExtraArguments, $"--Coordinator:PrivacyBudgets:external={Budget.ToString(CultureInfo.InvariantCulture)}", "--Coordinator:WarnEpsilon=0.5"],
        };
    }
}

/// <summary>
/// The coordinator's privacy ledger on the three real processes: a train job's cap is the partner's budget left; a
/// second job while the first holds the whole budget is refused at creation; a completed job is charged the ε M
/// states; a job whose schedule would spend more than is left is refused by M before any gradient crosses and its
/// reservation released; the ledger recomputed from the audit log alone agrees, and the chain verifies.
/// </summary>
public sealed class PrivacyBudgetTests(PrivacyBudgetFixture fixture, ITestOutputHelper output) : IClassFixture<PrivacyBudgetFixture>
{
    private CreateJobRequest Train(string trainingJob, params (string, string)[] extra) => LocalFederationFixture.NewJob(TrainJobHandler.JobKind,
        [("trainingJob", trainingJob), ("evaluationUsers", fixture.EvaluationUsersFile), ("batchSize", "256"), ("pretrainEpochs", "1"),
         ("torchThreads", "1"), ("messageTimeoutSeconds", "120"), .. extra]);

    [Fact]
    public async Task Train_jobs_draw_on_the_partners_budget_and_are_refused_when_it_is_spent()
    {
        using var op = fixture.Connect();

        // A: plenty of noise (σ = 20), one epoch: its cap is the whole budget while it runs.
        var a = await op.Jobs.CreateJobAsync(Train("budget-a", ("epochs", "1"), ("labelNoise", "20")));
        Assert.Equal(PrivacyBudgetFixture.Budget, double.Parse(a.Parameters["maxEpsilon"], CultureInfo.InvariantCulture));
        // B, while A holds the budget: refused at creation, naming the partner and the budget.
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await op.Jobs.CreateJobAsync(Train("budget-b", ("epochs", "1"), ("labelNoise", "20"))));
        output.WriteLine(refused.Status.Detail);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("partner 'external' has no label-DP budget left", refused.Status.Detail);

        var doneA = await fixture.WaitForJobAsync(op, a.JobId, TimeSpan.FromMinutes(4));
        Assert.True(doneA.State == JobState.Completed, $"job A {doneA.State}: {doneA.Reason}\n{fixture.Logs()}");
        var summaryA = doneA.Parties.Single(p => p.PartyId == "music").Summary;
        Assert.True(PrivacySummary.TryParse(summaryA, out var epsilonA, out _) && epsilonA is > 0 and < PrivacyBudgetFixture.Budget, summaryA);

        // C: the default noise (σ = 0.5) over three epochs would spend far more than is left: M refuses before training.
        var c = await op.Jobs.CreateJobAsync(Train("budget-c", ("epochs", "3")));
        double capC = double.Parse(c.Parameters["maxEpsilon"], CultureInfo.InvariantCulture);
        Assert.Equal(PrivacyBudgetFixture.Budget - epsilonA!.Value, capC, 9);
        var doneC = await fixture.WaitForJobAsync(op, c.JobId, TimeSpan.FromMinutes(3));
        Assert.Equal(JobState.Failed, doneC.State);
        Assert.Contains("above its cap maxEpsilon", doneC.Parties.Single(p => p.PartyId == "music").Summary + " " + doneC.Reason);

        // The ledger from the audit log alone: A charged its stated ε, C released, nothing reserved.
        await Task.Delay(500);
        var partner = Assert.Single(AuditPrivacyLedger.Read(fixture.AuditDatabase));
        Assert.Equal("external", partner.Partner);
        Assert.Equal(PrivacyBudgetFixture.Budget, partner.Budget);
        Assert.Equal(epsilonA.Value, partner.Charged, 9);
        Assert.Equal(0, partner.Reserved);
        Assert.Equal(PrivacyBudgetFixture.Budget - epsilonA.Value, partner.Left!.Value, 9);
        Assert.Contains(partner.Runs, r => r.TrainingRun == "budget-a/r1" && r.State == "charged");
        Assert.Contains(partner.Runs, r => r.TrainingRun == "budget-c/r1" && r.State == "released");
        Assert.DoesNotContain(partner.Runs, r => r.TrainingRun.StartsWith("budget-b", StringComparison.Ordinal));

        // A's reservation carried the warning (its cap 1 is above the warning level 0.5); the chain verifies.
        var reservedA = AuditReader.ReadJob(fixture.AuditDatabase, a.JobId)
            .Select(r => r.Entry.Details).First(d => d is not null && d.Contains("\"privacy-reserved\"", StringComparison.Ordinal))!;
        using (var json = JsonDocument.Parse(reservedA))
            Assert.Contains("above the warning level 0.5", json.RootElement.GetProperty("warning").GetString());
        Assert.True(AuditVerifier.Verify(fixture.AuditDatabase).IsValid);

        // The job's audit report states the partner's budget after it.
        var report = AuditJobReport.Build(fixture.AuditDatabase, a.JobId);
        Assert.NotNull(report.Privacy.Budget);
        output.WriteLine(report.Privacy.Budget!.Value);
        Assert.Contains("partner external: budget ε 1", report.Privacy.Budget.Value);
        Assert.Contains("this job charged ε", report.Privacy.Budget.Value);
    }
}
