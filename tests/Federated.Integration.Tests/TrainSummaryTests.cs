using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Federated.Audit;
using Federated.Core.Jobs;
using Federated.PartyJobs;

namespace Federated.Integration.Tests;

/// <summary>
/// M's train summary (the party report the coordinator stores and the audit log records) states the δ the job's
/// accountant used, the same number result.json holds; it once printed "δ 0" for δ = 1e-5.
/// </summary>
public sealed class TrainSummaryTests
{
    private static double DeltaIn(string summary)
    {
        var match = Regex.Match(summary, @"\(δ (?<delta>[^)]+)\)");
        Assert.True(match.Success, summary);
        return double.Parse(match.Groups["delta"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    [Fact]
    public void The_music_party_summary_shows_the_delta_the_job_used_and_result_json_holds()
    {
        var parameters = TrainJobParameters.Parse(new AttemptId("job-delta"), new Dictionary<string, string>());
        var used = parameters.Options.LabelDp!.Delta; // the δ the label-DP accountant converts at
        Assert.Equal(1e-5, used);

        var text = TrainJobHandler.PrivacySpentText(70.68493, used);

        Assert.Equal("ε 70.685 (δ 1e-5)", text);
        Assert.Equal(used, DeltaIn(text));

        var folder = Path.Combine(Path.GetTempPath(), "federated-delta-" + Guid.NewGuid().ToString("N"));
        try
        {
            var file = Path.Combine(folder, TrainJobFolders.ResultFileName);
            TrainJobFolders.WriteJson(file, new TrainJobOutcome("music", "job-delta", "job-delta", 1, "Encrypted", "", 10, 4, 0, 2,
                70.68493, used, 0, 0, 0, 0));
            using var result = JsonDocument.Parse(File.ReadAllText(file));
            Assert.Equal(result.RootElement.GetProperty("Delta").GetDouble(), DeltaIn(text));
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(1e-5, "1e-5")]
    [InlineData(2.5e-7, "2.5e-7")]
    [InlineData(1e-10, "1e-10")]
    [InlineData(0.001, "0.001")]
    [InlineData(1.2345678901234567e-6, "1.2345678901234567e-6")]
    public void Delta_is_written_exactly(double delta, string written)
    {
        var text = TrainJobHandler.PrivacySpentText(1.5, delta);
        Assert.Equal($"ε 1.5 (δ {written})", text);
        Assert.Equal(delta, DeltaIn(text));
    }

    [Fact]
    public void Without_label_dp_the_summary_states_neither()
    {
        Assert.Equal("ε - (δ -)", TrainJobHandler.PrivacySpentText(null, null));
        // Nor CKKS parameters in the plaintext reference mode.
        Assert.Equal("", TrainJobHandler.CkksText(new Federated.Training.TrainingJobOptions
        {
            Job = new TrainingJobName("t"), Mode = Federated.Training.FederationMode.PlaintextReference,
        }));
    }

    [Fact]
    public void The_audit_report_reads_back_the_delta_a_music_party_summary_states()
    {
        var folder = Path.Combine(Path.GetTempPath(), "federated-delta-audit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var db = Path.Combine(folder, "audit.db");
        try
        {
            var ckks = TrainJobHandler.CkksText(new Federated.Training.TrainingJobOptions { Job = new TrainingJobName("t") });
            Assert.Equal("CKKS N 8192, log Q 180; ", ckks); // the defaults: primes {60, 30, 30} and a 60-bit special prime
            var summary = $"music: 10 aligned rows, 4 steps (resumed from step 0), 2 of 2 requested users ranked, {TrainJobHandler.PrivacySpentText(3.25, 1e-5)}; {ckks}loading 0.1 s";
            using (var log = AuditLog.Open(db))
            {
                log.Append(AuditEntry.Job("job-1", """{"event":"created","kind":"train","operator":"operator","music":"music","external":"external"}"""));
                log.Append(AuditEntry.Job("job-1", JsonSerializer.Serialize(new Dictionary<string, string> { ["event"] = "party-state", ["party"] = "music", ["state"] = "Completed", ["summary"] = summary })));
            }

            var report = AuditJobReport.Build(db, "job-1");

            Assert.Equal("3.25", report.Privacy.Epsilon.Value);
            Assert.Equal(1e-5, double.Parse(report.Privacy.Delta.Value!, CultureInfo.InvariantCulture));
            Assert.DoesNotContain("rounded", report.Privacy.Delta.Source);
            Assert.Equal((8192, 180, true), (report.Privacy.Ckks.PolyModulusDegree, report.Privacy.Ckks.ModulusBits, report.Privacy.Ckks.Classical128));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
