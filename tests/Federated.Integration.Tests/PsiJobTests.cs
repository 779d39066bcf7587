using Federated.Operator;
using System.Security.Cryptography;
using System.Text;
using Federated.Audit;
using Federated.Crypto.Psi;
using Federated.Data.Schema;
using Federated.Launcher;
using Federated.Transport.V1;

namespace Federated.Integration.Tests;

/// <summary>
/// A federation of the three real hosts whose coordinator also writes every relayed sealed payload to a transcript
/// folder (Coordinator:TranscriptDirectory, a test/audit aid), so the PSI tests can inspect what the coordinator saw.
/// Each party's data folder is the default, <c>data</c> beside its state folder.
/// </summary>
public sealed class PsiFederationFixture() : LocalFederationFixture("psi")
{
    public string DataOf(string party) => Path.Combine(RunDirectory, party, "data");
    public string PsiFolderOf(string party, string jobId) => Path.Combine(Folder.PartyState(party), "psi", jobId);

    protected override LocalFederationOptions Configure(LocalFederationOptions options) => WithTranscript(options);

    public Task<JobInfo> RunJobAsync(params (string Name, string Value)[] parameters) => RunJobAsync("psi", parameters);
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PsiFederationCollection : ICollectionFixture<PsiFederationFixture>
{
    public const string Name = "psi-federation";
}

/// <summary>
/// The psi job kind across the real relay: three processes, the PSI handler at both parties, sealed payloads through
/// the coordinator. Checks the result against the plain set intersection, the coordinator's transcript against the
/// audit log and against everything that would give an ID away, and a delta round against a full one.
/// </summary>
[Collection(PsiFederationCollection.Name)]
public sealed class PsiJobTests(PsiFederationFixture fixture)
{
    private const string Domain = "it-alignment-1";

    [Fact]
    public async Task Psi_job_through_the_relay_aligns_both_parties_leaks_nothing_to_the_coordinator_and_a_delta_round_equals_a_full_one()
    {
        // Round 1: 2,000 x 2,000 IDs, 1,000 shared, read from each party's own users table (the key column comes from
        // each schema and is named differently at the two parties).
        var shared = Ids("shared", 1000);
        var musicOnly = Ids("music-only", 1000);
        var externalOnly = Ids("external-only", 1000);
        var music1 = Shuffle(shared.Concat(musicOnly), 1);
        var external1 = Shuffle(shared.Concat(externalOnly), 2);
        WriteUsersTable(fixture.DataOf("music"), "member_ref", music1);
        WriteUsersTable(fixture.DataOf("external"), "ext_account", external1);

        var round1 = await fixture.RunJobAsync(("table", "users"), ("domain", Domain), ("chunkPoints", "512"));
        AssertCompleted(round1);
        var aligned1 = AssertAligned(round1.JobId, music1.Intersect(external1));
        Assert.Equal(1000, aligned1.Length);
        Assert.All(round1.Parties, p => Assert.Contains("psi round 1: intersection 1000 of 2000 own IDs", p.Summary));

        // Round 2 (delta): each party appends 500 IDs, 200 of them shared; only the new IDs are blinded and sent.
        var sharedNew = Ids("shared-new", 200);
        var music2 = music1.Concat(Shuffle(sharedNew.Concat(Ids("music-new", 300)), 3)).ToArray();
        var external2 = external1.Concat(Shuffle(sharedNew.Concat(Ids("external-new", 300)), 4)).ToArray();
        File.WriteAllLines(Path.Combine(fixture.DataOf("music"), "ids-round2.txt"), music2);
        File.WriteAllLines(Path.Combine(fixture.DataOf("external"), "ids-round2.txt"), external2);

        var round2 = await fixture.RunJobAsync(("idFile", "ids-round2.txt"), ("previousJob", round1.JobId), ("chunkPoints", "512"));
        AssertCompleted(round2);
        var aligned2 = AssertAligned(round2.JobId, music2.Intersect(external2));
        Assert.Equal(1200, aligned2.Length);
        Assert.All(round2.Parties, p => Assert.Contains("psi round 2: intersection 1200 of 2500 own IDs (500 new) and 2500 peer IDs (500 new)", p.Summary));

        // A full PSI on the union with the same scalars gives the same rows in the same order, byte for byte.
        var full = await fixture.RunJobAsync(("idFile", "ids-round2.txt"), ("reuseKeysFrom", round1.JobId), ("chunkPoints", "512"));
        AssertCompleted(full);
        foreach (var party in new[] { "music", "external" })
            Assert.Equal(File.ReadAllBytes(AlignedKeys(party, round2.JobId)), File.ReadAllBytes(AlignedKeys(party, full.JobId)));

        // What the coordinator saw.
        var allIds = music2.Concat(external2).Distinct().ToArray();
        var scanner = new LeakScanner(allIds, Domain, SecretMaterial(round1.JobId));
        foreach (var job in new[] { round1, round2, full })
            AssertTranscriptIsSealedOnly(job, scanner);
        AssertCoordinatorDataHoldsNothingSecret(scanner);
        Assert.All(new[] { round1, round2, full }.SelectMany(j => j.Parties), p => Assert.Null(scanner.FindLeak(Encoding.UTF8.GetBytes(p.Summary))));
        var verification = AuditVerifier.Verify(fixture.AuditDatabase);
        Assert.True(verification.IsValid, verification.Problem);
    }

    [Fact]
    public async Task Duplicate_ids_fail_the_job_at_both_parties_without_the_id_reaching_the_coordinator()
    {
        var ids = Ids("dup-test", 50).ToList();
        ids.Add(ids[7]);
        File.WriteAllLines(Path.Combine(Directory.CreateDirectory(fixture.DataOf("music")).FullName, "dup.txt"), ids);
        File.WriteAllLines(Path.Combine(Directory.CreateDirectory(fixture.DataOf("external")).FullName, "dup.txt"), Ids("dup-test", 50));

        var job = await fixture.RunJobAsync(("idFile", "dup.txt"));

        Assert.Equal(JobState.Failed, job.State);
        var music = job.Parties.Single(p => p.PartyId == "music");
        Assert.Contains("rejected its own ID input", music.Summary + job.Reason);
        var everything = job.Reason + string.Join("\n", job.Parties.Select(p => p.Summary));
        Assert.DoesNotContain(ids[7], everything);
        // The reason, with the ID, is in the music party's own log.
        Assert.Contains(ids[7], File.ReadAllText(fixture.Federation.Hosts["music"].LogFile));
    }

    [Fact]
    public async Task A_bad_row_in_the_id_table_fails_the_job_as_input_naming_the_line_only_in_the_partys_log()
    {
        var ids = Ids("bad-row", 40);
        WriteUsersTable(Path.Combine(fixture.DataOf("music"), "badrows"), "user_id", ids);
        WriteUsersTable(Path.Combine(fixture.DataOf("external"), "badrows"), "user_id", ids);
        // Line 23 of the music party's table: an age that is not a number (the row's ID must not reach the coordinator).
        var csv = Path.Combine(fixture.DataOf("music"), "badrows", "users.csv");
        var lines = File.ReadAllLines(csv);
        lines[22] = $"{ids[21]},not-a-number";
        File.WriteAllLines(csv, lines);

        var job = await fixture.RunJobAsync(("table", "badrows/users"));
        Assert.Equal(JobState.Failed, job.State);
        // The external party's failure (the music party's abort reached it) may have finished the job first; the
        // music party's own report is still recorded, with its kind.
        using (var op = fixture.Connect())
            for (var deadline = DateTime.UtcNow.AddSeconds(20); job.Parties.Single(p => p.PartyId == "music").State != JobState.Failed && DateTime.UtcNow < deadline; )
            {
                await Task.Delay(100);
                job = await op.Jobs.GetJobAsync(new GetJobRequest { JobId = job.JobId });
            }
        var music = job.Parties.Single(p => p.PartyId == "music");
        Assert.Equal(FailureKind.Input, music.Failure);
        Assert.Contains("could not read its ID table", music.Summary);
        var everything = job.Reason + string.Join("\n", job.Parties.Select(p => p.Summary));
        Assert.DoesNotContain(ids[21], everything);
        var log = File.ReadAllText(fixture.Federation.Hosts["music"].LogFile);
        Assert.Contains("line 23", log);
    }

    // ---- checks ---------------------------------------------------------------------------------------------------

    private static void AssertCompleted(JobInfo job) =>
        Assert.True(job.State == JobState.Completed, $"psi job {job.JobId} {job.State}: {job.Reason}; " + string.Join("; ", job.Parties.Select(p => $"{p.PartyId}: {p.Summary}")));

    private string AlignedKeys(string party, string jobId) => Path.Combine(fixture.PsiFolderOf(party, jobId), "aligned-keys.txt");

    /// <summary>Both parties hold the plain intersection, in the same order, which is neither input's order.</summary>
    private string[] AssertAligned(string jobId, IEnumerable<string> expected)
    {
        var music = File.ReadAllLines(AlignedKeys("music", jobId));
        var external = File.ReadAllLines(AlignedKeys("external", jobId));
        Assert.Equal(music, external);
        Assert.Equal(expected.Order(StringComparer.Ordinal), music.Order(StringComparer.Ordinal));
        Assert.NotEqual(music.Order(StringComparer.Ordinal), music);
        return music;
    }

    /// <summary>
    /// Every relay audit record of the job has its sealed payload in the transcript with the same size and SHA-256,
    /// and no payload holds a raw ID, an H(id), a blinded or double-blinded point, a secret, or plaintext PSI JSON.
    /// </summary>
    private void AssertTranscriptIsSealedOnly(JobInfo job, LeakScanner scanner)
    {
        var transcript = CoordinatorTranscript.Read(fixture.AuditDatabase, fixture.TranscriptDirectory, job.JobId);
        Assert.True(transcript.Count > 10, $"job {job.JobId}: only {transcript.Count} relay records");
        Assert.Contains(transcript, t => t.Entry.MessageType == "psi.blinded");
        foreach (var (e, payload) in transcript)
            Assert.True(scanner.FindLeak(payload) is null, $"{e.Sender} #{e.Sequence} ({e.MessageType}): {scanner.FindLeak(payload)}");
    }

    /// <summary>The coordinator's data folder (registry, audit log) holds no ID, no H(id), no PSI secret.</summary>
    private void AssertCoordinatorDataHoldsNothingSecret(LeakScanner scanner)
    {
        foreach (var (file, bytes) in CoordinatorTranscript.StoredFiles(Path.Combine(fixture.RunDirectory, RunFolder.CoordinatorName, "data")))
        {
            Assert.DoesNotContain("secret", Path.GetFileName(file), StringComparison.OrdinalIgnoreCase);
            Assert.True(scanner.FindLeak(bytes) is null, $"{file}: {scanner.FindLeak(bytes)}");
        }
    }

    /// <summary>Both parties' PSI scalars and ID-digest keys of the given job (layout of PsiJobStore's key file).</summary>
    private (byte[] MusicScalar, byte[] ExternalScalar, byte[][] All) SecretMaterial(string jobId)
    {
        byte[] Keys(string party) => File.ReadAllBytes(Path.Combine(fixture.PsiFolderOf(party, jobId), "secret-keys.bin"));
        var m = Keys("music");
        var x = Keys("external");
        Assert.Equal(8 + 1 + 32 + 32, m.Length);
        return (m[9..41], x[9..41], [m[9..41], m[41..], x[9..41], x[41..]]);
    }

    /// <summary>
    /// Looks for anything in a byte string that would give the PSI away: raw IDs (UTF-8), H(id), H(id)^a, H(id)^b,
    /// H(id)^ab, either party's secrets, or PSI message JSON. Group elements and secrets are matched as 32-byte
    /// windows at every offset.
    /// </summary>
    private sealed class LeakScanner
    {
        private readonly string[] _ids;
        private readonly Dictionary<(UInt128, UInt128), string> _windows = new();
        private static readonly string[] Plaintext = ["federated-psi", "\"protocol\"", "\"nonce\"", "rowsDigest"];

        public LeakScanner(string[] ids, string domain, (byte[] MusicScalar, byte[] ExternalScalar, byte[][] All) secrets)
        {
            _ids = ids;
            var prefix = Ristretto255.DomainPrefix(domain);
            Span<byte> h = stackalloc byte[32], ha = stackalloc byte[32], hb = stackalloc byte[32], hab = stackalloc byte[32];
            foreach (var id in ids)
            {
                Ristretto255.HashToGroup(prefix, id, h);
                Assert.True(Ristretto255.TryMultiply(secrets.MusicScalar, h, ha));
                Assert.True(Ristretto255.TryMultiply(secrets.ExternalScalar, h, hb));
                Assert.True(Ristretto255.TryMultiply(secrets.ExternalScalar, ha, hab));
                Add(h, $"H({id})");
                Add(ha, $"H({id})^a");
                Add(hb, $"H({id})^b");
                Add(hab, $"H({id})^ab");
            }
            for (var i = 0; i < secrets.All.Length; i++)
                Add(secrets.All[i], $"secret key part {i}");

            // Negative control: the scan finds what it is looking for, wherever it sits.
            var probe = RandomNumberGenerator.GetBytes(300);
            Ristretto255.HashToGroup(prefix, ids[^1], h);
            h.CopyTo(probe.AsSpan(137));
            Assert.NotNull(FindLeak(probe));
            Assert.NotNull(FindLeak(Encoding.UTF8.GetBytes("xx" + ids[0] + "yy")));
        }

        private void Add(ReadOnlySpan<byte> value, string what) => _windows[Key(value)] = what;

        private static (UInt128, UInt128) Key(ReadOnlySpan<byte> v) =>
            (System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(v), System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(v[16..]));

        public string? FindLeak(byte[] bytes)
        {
            for (var offset = 0; offset + 32 <= bytes.Length; offset++)
                if (_windows.TryGetValue(Key(bytes.AsSpan(offset, 32)), out var what))
                    return $"{what} at byte {offset}";
            foreach (var id in _ids)
                if (bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(id)) is var at and >= 0)
                    return $"raw ID '{id}' at byte {at}";
            foreach (var text in Plaintext)
                if (bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) is var at and >= 0)
                    return $"plaintext '{text}' at byte {at}";
            return null;
        }
    }

    // ---- inputs ---------------------------------------------------------------------------------------------------

    private static string[] Ids(string group, int count) =>
        Enumerable.Range(0, count).Select(i => $"{group}-{i:D5}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(group + i)))[..10]}").ToArray();

    private static string[] Shuffle(IEnumerable<string> ids, int seed)
    {
        var array = ids.ToArray();
        new Random(seed).Shuffle(array);
        return array;
    }

    /// <summary>A users table (CSV + schema) whose key column has the given name, with one feature column.</summary>
    private static void WriteUsersTable(string folder, string keyColumn, IReadOnlyList<string> ids)
    {
        Directory.CreateDirectory(folder);
        new TableSchema
        {
            Table = "users", Role = TableRole.Users, File = "users.csv", Key = keyColumn,
            Columns = [new ColumnSpec { Name = keyColumn, Kind = ColumnKind.Id }, new ColumnSpec { Name = "age", Kind = ColumnKind.Numeric, Min = 0, Max = 120 }],
        }.Save(Path.Combine(folder, "users.schema.json"));
        using var writer = new StreamWriter(Path.Combine(folder, "users.csv"), append: false, new UTF8Encoding(false));
        writer.WriteLine($"{keyColumn},age");
        for (var i = 0; i < ids.Count; i++)
            writer.WriteLine($"{ids[i]},{18 + i % 60}");
    }
}
