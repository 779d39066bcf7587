using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Federated.Audit.Tests;

/// <summary>
/// The job's privacy audit report against an independent recount: a log written with the real <see cref="AuditLog"/>
/// holds two interleaved jobs; the report's counts, bytes and times must equal a direct SQL query over the file.
/// </summary>
public sealed class AuditReportTests : IDisposable
{
    private const string Train = "job-train-1";
    private const string Infer = "job-infer-2";
    private const string MusicFingerprint = "aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44";
    private const string ExternalFingerprint = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "federated-audit-report-" + Guid.NewGuid().ToString("N"));
    private string DbPath => Path.Combine(_directory, "audit.db");

    public AuditReportTests() => Directory.CreateDirectory(_directory);

    private static string Sha(int i) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)));

    private static string Created(string kind, string parameters, bool withFingerprints = true) =>
        $$"""{"event":"created","kind":"{{kind}}","operator":"operator","music":"music-1","external":"news-1"{{(withFingerprints ? $$""","fingerprints":{"music":"{{MusicFingerprint}}","external":"{{ExternalFingerprint}}"}""" : "")}}{{(parameters.Length == 0 ? "" : $$""","parameters":{{{parameters}}}""")}}}""";

    private static string PartyState(string party, string state, string summary) =>
        JsonSerializer.Serialize(new Dictionary<string, object?> { ["event"] = "party-state", ["party"] = party, ["state"] = state, ["summary"] = summary });

    /// <summary>Two jobs, relay records of several kinds in both directions, interleaved, with their job events.</summary>
    private void WriteTwoJobs()
    {
        var random = new Random(7);
        using var log = AuditLog.Open(DbPath);
        log.Append(AuditEntry.Job(Train, Created("train", """ "epochs":"4","evaluationDecoys":"2","seed":"(set; value not recorded)" """)));
        log.Append(AuditEntry.Job(Infer, Created("infer", """ "trainingJob":"job-train-1","decoyFactor":"8" """)));
        ulong trainE = 0, trainM = 0, inferE = 0, inferM = 0;
        var i = 0;
        void Relay(string job, string type, bool fromMusic)
        {
            var sequence = job == Train ? (fromMusic ? ++trainM : ++trainE) : (fromMusic ? ++inferM : ++inferE);
            log.Append(AuditEntry.Relay(job, type, fromMusic ? "music-1" : "news-1", fromMusic ? "news-1" : "music-1",
                sequence, random.Next(17, 90_000), Sha(++i), """{"step":0,"generation":1}"""));
        }
        foreach (var type in new[] { "psi.hello", "psi.points" })
        {
            Relay(Train, type, fromMusic: false);
            Relay(Train, type, fromMusic: true);
        }
        for (var step = 0; step < 5; step++)
        {
            Relay(Train, "train.F1", fromMusic: false);
            Relay(Infer, "infer.lookup", fromMusic: true);
            Relay(Train, "train.F2", fromMusic: true);
            Relay(Train, "train.F3", fromMusic: false);
            Relay(Infer, "infer.rows", fromMusic: false);
            Relay(Train, "train.B2", fromMusic: true);
        }
        log.Append(AuditEntry.Job(Train, PartyState("news-1", "Completed", "external: 2890 aligned rows, 20 steps; CKKS N 8192, log Q 180; loading 0.1 s")));
        log.Append(AuditEntry.Job(Train, PartyState("music-1", "Completed", "music: 2890 aligned rows, 20 steps (resumed from step 0), 600 of 606 requested users ranked, ε 70.68 (δ 1e-5); CKKS N 8192, log Q 180; loading 0.2 s")));
        log.Append(AuditEntry.Job(Train, """{"event":"state","state":"Completed"}"""));
        log.Append(AuditEntry.Job(Infer, """{"event":"stopped","operator":"operator","reason":"stopped by operator"}"""));
    }

    /// <summary>The independent recount: a GROUP BY straight over the SQLite file.</summary>
    private List<(string Sender, string Receiver, string Type, long Count, long Bytes, string First, string Last)> Recount(string job)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT sender, receiver, message_type, COUNT(*), SUM(payload_bytes), MIN(time), MAX(time)
            FROM audit_record WHERE job_id = $job AND kind = 'relay'
            GROUP BY sender, receiver, message_type ORDER BY sender, receiver, message_type
            """;
        command.Parameters.AddWithValue("$job", job);
        var rows = new List<(string, string, string, long, long, string, string)>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetString(5), reader.GetString(6)));
        return rows;
    }

    private long Scalar(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private void Sql(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static DateTimeOffset Stored(string text) =>
        DateTimeOffset.ParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    [Fact]
    public void Counts_bytes_and_times_per_type_and_direction_equal_a_direct_sql_recount_and_leave_the_other_job_out()
    {
        WriteTwoJobs();

        foreach (var job in new[] { Train, Infer })
        {
            var report = AuditJobReport.Build(DbPath, job);
            var expected = Recount(job);
            Assert.NotEmpty(expected);

            var actual = report.Traffic.ByType
                .Select(r => (r.Sender, r.Receiver, r.MessageType, r.Messages, r.Bytes, r.First, r.Last))
                .OrderBy(r => r.Sender, StringComparer.Ordinal).ThenBy(r => r.Receiver, StringComparer.Ordinal).ThenBy(r => r.MessageType, StringComparer.Ordinal)
                .ToList();
            Assert.Equal(expected.Select(e => (e.Sender, e.Receiver, e.Type, e.Count, e.Bytes, Stored(e.First), Stored(e.Last))), actual);
            Assert.Equal(expected.Sum(e => e.Count), report.Traffic.Messages);
            Assert.Equal(expected.Sum(e => e.Bytes), report.Traffic.Bytes);
            Assert.Equal(expected.Select(e => Stored(e.First)).Min(), report.Traffic.First);
            Assert.Equal(expected.Select(e => Stored(e.Last)).Max(), report.Traffic.Last);

            // Directions by role: music-1 is M, news-1 is E.
            foreach (var d in report.Traffic.ByDirection)
            {
                Assert.Equal(d.Sender == "music-1" ? "M->E" : "E->M", d.Direction);
                Assert.Equal(expected.Where(e => e.Sender == d.Sender).Sum(e => e.Count), d.Messages);
                Assert.Equal(expected.Where(e => e.Sender == d.Sender).Sum(e => e.Bytes), d.Bytes);
            }
            Assert.Equal(2, report.Traffic.ByDirection.Count);

            // The other job's records are not counted: its types never appear, and both reports add up to the whole log.
            var otherPrefix = job == Train ? "infer." : "train.";
            Assert.DoesNotContain(report.Traffic.ByType, r => r.MessageType.StartsWith(otherPrefix, StringComparison.Ordinal));
            Assert.Equal(Scalar($"SELECT COUNT(*) FROM audit_record WHERE job_id = '{job}'"), report.Records);

            // The JSON a tool reads says the same.
            using var json = JsonDocument.Parse(AuditReportWriter.ToJson(report));
            var traffic = json.RootElement.GetProperty("traffic");
            Assert.Equal(expected.Sum(e => e.Count), traffic.GetProperty("messages").GetInt64());
            Assert.Equal(expected.Sum(e => e.Bytes), traffic.GetProperty("bytes").GetInt64());
            foreach (var e in expected)
            {
                var row = traffic.GetProperty("byType").EnumerateArray().Single(r =>
                    r.GetProperty("sender").GetString() == e.Sender && r.GetProperty("messageType").GetString() == e.Type);
                Assert.Equal(e.Count, row.GetProperty("messages").GetInt64());
                Assert.Equal(e.Bytes, row.GetProperty("bytes").GetInt64());
            }

            // And the Markdown an auditor reads: one table row per type and direction with its count and bytes, and the totals.
            var markdown = AuditReportWriter.ToMarkdown(report);
            foreach (var e in expected)
                Assert.Contains($"| {(e.Sender == "music-1" ? "M->E" : "E->M")} | {e.Type} | {e.Count} | {e.Bytes} |", markdown);
            Assert.Contains($"| **total** | **{expected.Sum(e => e.Count)}** | **{expected.Sum(e => e.Bytes)}** |", markdown);
        }

        var train = AuditJobReport.Build(DbPath, Train);
        var infer = AuditJobReport.Build(DbPath, Infer);
        Assert.Equal(Scalar("SELECT COUNT(*) FROM audit_record WHERE kind = 'relay'"), train.Traffic.Messages + infer.Traffic.Messages);
        Assert.Equal(Scalar("SELECT SUM(payload_bytes) FROM audit_record WHERE kind = 'relay'"), train.Traffic.Bytes + infer.Traffic.Bytes);
        Assert.Equal(24, train.Traffic.Messages);
        Assert.Equal(10, infer.Traffic.Messages);
    }

    [Fact]
    public void The_report_states_the_job_its_parties_its_state_and_the_privacy_figures_the_log_holds()
    {
        WriteTwoJobs();

        var train = AuditJobReport.Build(DbPath, Train);
        Assert.True(train.Chain.IsValid, train.Chain.Problem);
        Assert.Equal("train", train.Job.Kind);
        Assert.Equal("Completed", train.Job.State);
        Assert.Equal("operator", train.Job.CreatedBy);
        Assert.Equal([("music", "music-1", MusicFingerprint), ("external", "news-1", ExternalFingerprint)],
            train.Job.Parties.Select(p => (p.Role, p.PartyId, p.CertificateFingerprint!)));
        Assert.Equal("4", train.Job.Parameters!["epochs"]);
        Assert.Equal("70.68", train.Privacy.Epsilon.Value);
        Assert.Equal("1e-5", train.Privacy.Delta.Value);
        Assert.Contains("music-1's Completed report", train.Privacy.Delta.Source);
        Assert.Equal("2", train.Privacy.EvaluationDecoys!.Value);
        Assert.Null(train.Privacy.DecoyFactor);
        Assert.Equal(8192, train.Privacy.Ckks.PolyModulusDegree);
        Assert.Equal(180, train.Privacy.Ckks.ModulusBits);
        Assert.True(train.Privacy.Ckks.Classical128);
        Assert.Contains("news-1", train.Privacy.Ckks.Source);
        Assert.Contains("music-1", train.Privacy.Ckks.Source);
        Assert.Equal(2, train.PartyReports.Count);

        var markdown = AuditReportWriter.ToMarkdown(train);
        Assert.Contains("**VALID**", markdown);
        Assert.Contains($"| M, music | music-1 | `{MusicFingerprint}` |", markdown);
        Assert.Contains("| label DP ε | 70.68 |", markdown);
        Assert.Contains("| label DP δ | 1e-5 |", markdown);
        Assert.Contains("| CKKS ring degree N | 8192 |", markdown);
        Assert.Contains("| CKKS modulus log Q (bits) | 180 |", markdown);
        Assert.Contains("| 128-bit classical security (HE standard) | yes |", markdown);
        Assert.Contains("| seed | (set; value not recorded) |", markdown);
        Assert.Contains("N = 8192: log Q ≤ 218", markdown);

        var infer = AuditJobReport.Build(DbPath, Infer);
        Assert.Equal("Stopped", infer.Job.State);
        Assert.Equal("8", infer.Privacy.DecoyFactor!.Value);
        Assert.Null(infer.Privacy.Epsilon.Value);
        Assert.Contains("| inference decoy factor | 8 |", AuditReportWriter.ToMarkdown(infer));
        Assert.Contains("| label DP ε | not recorded |", AuditReportWriter.ToMarkdown(infer));
    }

    [Fact]
    public void Ckks_parameters_above_the_standard_bound_or_stated_differently_by_the_parties_are_shown_as_such()
    {
        using (var log = AuditLog.Open(DbPath))
        {
            log.Append(AuditEntry.Job(Train, Created("train", "")));
            log.Append(AuditEntry.Job(Train, PartyState("news-1", "Completed", "external: 10 steps; CKKS N 8192, log Q 240; loading 0.1 s")));
            log.Append(AuditEntry.Job(Train, PartyState("music-1", "Completed", "music: 10 steps, ε 1 (δ 1e-5); CKKS N 8192, log Q 240; loading 0.1 s")));
            log.Append(AuditEntry.Job(Infer, Created("infer", "")));
            log.Append(AuditEntry.Job(Infer, PartyState("news-1", "Stopped", "external: served 2 inference requests; CKKS N 8192, log Q 180")));
            log.Append(AuditEntry.Job(Infer, PartyState("music-1", "Stopped", "music: answered 2 inference requests; CKKS N 16384, log Q 180")));
        }
        var train = AuditJobReport.Build(DbPath, Train);
        Assert.Equal(240, train.Privacy.Ckks.ModulusBits);
        Assert.False(train.Privacy.Ckks.Classical128);
        Assert.Contains("| 128-bit classical security (HE standard) | **NO** |", AuditReportWriter.ToMarkdown(train));

        var infer = AuditJobReport.Build(DbPath, Infer);
        Assert.Null(infer.Privacy.Ckks.PolyModulusDegree);
        Assert.Null(infer.Privacy.Ckks.Classical128);
        Assert.Contains("disagree", infer.Privacy.Ckks.Source);
        Assert.Contains("N 16384", infer.Privacy.Ckks.Source);
    }

    [Fact]
    public void A_log_without_parameters_or_fingerprints_says_not_recorded_and_flags_a_rounded_delta()
    {
        using (var log = AuditLog.Open(DbPath))
        {
            log.Append(AuditEntry.Job(Infer, Created("infer", "", withFingerprints: false)));
            log.Append(AuditEntry.Relay(Infer, "infer.lookup", "music-1", "news-1", 1, 400, Sha(1)));
            log.Append(AuditEntry.Job(Train, Created("train", "", withFingerprints: false)));
            log.Append(AuditEntry.Job(Train, PartyState("music-1", "Completed", "music: 10 steps, ε 12.5 (δ 0); loading 0.1 s")));
        }

        var infer = AuditJobReport.Build(DbPath, Infer);
        Assert.Null(infer.Job.Parameters);
        Assert.Null(infer.Privacy.DecoyFactor!.Value);
        Assert.Contains("no parameters", infer.Privacy.DecoyFactor.Source);
        var markdown = AuditReportWriter.ToMarkdown(infer);
        Assert.Contains("| M, music | music-1 | not recorded |", markdown);
        Assert.Contains("| inference decoy factor | not recorded |", markdown);
        Assert.Contains("not recorded (the log holds no parameters for this job)", markdown);
        Assert.Equal("Pending", infer.Job.State);

        var train = AuditJobReport.Build(DbPath, Train);
        Assert.Equal("0", train.Privacy.Delta.Value);
        Assert.Contains("rounded", train.Privacy.Delta.Source);
        Assert.Equal(0, train.Traffic.Messages);
        Assert.Contains("No message of this job was relayed.", AuditReportWriter.ToMarkdown(train));
    }

    [Fact]
    public void A_tampered_log_makes_the_report_say_the_chain_is_invalid()
    {
        WriteTwoJobs();
        Assert.True(AuditJobReport.Build(DbPath, Train).Chain.IsValid);
        // Shrink one of the OTHER job's messages: the whole log's chain is what the report verifies.
        var index = Scalar($"SELECT MIN(idx) FROM audit_record WHERE job_id = '{Infer}' AND kind = 'relay'");
        Sql($"UPDATE audit_record SET payload_bytes = 1 WHERE idx = {index}");

        var report = AuditJobReport.Build(DbPath, Train);

        Assert.False(report.Chain.IsValid);
        Assert.Equal(index, report.Chain.FirstBadIndex);
        var markdown = AuditReportWriter.ToMarkdown(report);
        Assert.Contains("**INVALID**", markdown);
        Assert.Contains($"first bad record: {index}", markdown);
        Assert.DoesNotContain("**VALID**", markdown);
        using var json = JsonDocument.Parse(AuditReportWriter.ToJson(report));
        Assert.False(json.RootElement.GetProperty("chain").GetProperty("isValid").GetBoolean());
        Assert.Equal(index, json.RootElement.GetProperty("chain").GetProperty("firstBadIndex").GetInt64());
    }

    [Fact]
    public void An_unknown_job_is_refused_naming_it_and_the_jobs_the_log_has()
    {
        WriteTwoJobs();

        var e = Assert.Throws<KeyNotFoundException>(() => AuditJobReport.Build(DbPath, "job-nope"));

        Assert.Contains("'job-nope'", e.Message);
        Assert.Contains(Path.GetFullPath(DbPath), e.Message);
        Assert.Contains($"2 job(s): {Train}, {Infer}", e.Message);
        Assert.Throws<FileNotFoundException>(() => AuditJobReport.Build(Path.Combine(_directory, "missing.db"), Train));
    }

    [Fact]
    public void Write_puts_the_markdown_and_the_json_in_the_folder_and_never_a_payload()
    {
        WriteTwoJobs();
        var report = AuditJobReport.Build(DbPath, Train);

        var (markdown, json) = AuditReportWriter.Write(report, Path.Combine(_directory, "out"));

        Assert.Equal(Path.Combine(_directory, "out", $"audit-report-{Train}.md"), markdown);
        Assert.Equal(Path.Combine(_directory, "out", $"audit-report-{Train}.json"), json);
        Assert.Equal(AuditReportWriter.ToMarkdown(report), File.ReadAllText(markdown));
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(Train, document.RootElement.GetProperty("jobId").GetString());
        Assert.Equal("1e-5", document.RootElement.GetProperty("privacy").GetProperty("delta").GetProperty("value").GetString());
        // Payload hashes stay in the log; the report sums sizes and names types only.
        Assert.DoesNotContain(Sha(1), File.ReadAllText(markdown));
        Assert.DoesNotContain(Sha(1), File.ReadAllText(json));
    }

    [Theory]
    [InlineData(8192, 180, true)]
    [InlineData(8192, 218, true)]
    [InlineData(8192, 219, false)]
    [InlineData(16384, 438, true)]
    [InlineData(16384, 439, false)]
    [InlineData(32768, 881, true)]
    [InlineData(4096, 110, false)]
    [InlineData(2048, 54, true)]
    public void The_he_standard_table_bounds_log_q_per_ring_degree(int n, int modulusBits, bool within)
    {
        Assert.Equal(within, HeSecurityStandard.IsClassical128(n, modulusBits));
    }

    [Fact]
    public void A_ring_degree_outside_the_table_has_no_verdict()
    {
        Assert.Null(HeSecurityStandard.IsClassical128(1000, 10));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
