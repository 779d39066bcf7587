using Federated.Data.Evaluation;
using Federated.Data.Features;
using Federated.Data.Reading;
using Federated.Data.Rows;
using Federated.Data.Schema;
using Federated.Synthetic;
using Xunit.Abstractions;

namespace Federated.Data.Tests;

/// <summary>One tiny world per format, generated once for the class.</summary>
public sealed class TinyWorlds : IAsyncLifetime, IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly List<string> _stages = new();

    public TinyWorlds()
    {
        Options = SyntheticWorldOptions.Tiny with { Seed = 7 };
        Csv = Path.Combine(_dir.Path, "csv");
        Parquet = Path.Combine(_dir.Path, "parquet");
    }

    public async Task InitializeAsync()
    {
        CsvSummary = await SyntheticWorld.GenerateAsync(Options, Csv, new SyncProgress(p => _stages.Add(p.Stage)));
        ParquetSummary = await SyntheticWorld.GenerateAsync(Options with { Format = TableFormat.Parquet }, Parquet);
        Truth = await GroundTruth.LoadAsync(Csv);
    }

    public SyntheticWorldOptions Options { get; }
    public string Csv { get; }
    public string Parquet { get; }
    public SyntheticWorldSummary CsvSummary { get; private set; } = null!;
    public SyntheticWorldSummary ParquetSummary { get; private set; } = null!;
    public IReadOnlyList<string> Stages => _stages;
    public GroundTruth Truth { get; private set; } = null!;

    public string Root(TableFormat format) => format == TableFormat.Csv ? Csv : Parquet;

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _dir.Dispose();

    private sealed class SyncProgress(Action<GeneratorProgress> report) : IProgress<GeneratorProgress>
    {
        public void Report(GeneratorProgress value) => report(value);
    }
}

public sealed class SyntheticWorldTests(TinyWorlds worlds, ITestOutputHelper output) : IClassFixture<TinyWorlds>
{
    private static async Task<List<DataRow>> ReadAll(string schemaPath)
    {
        await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
        var rows = await reader.ToListAsync();
        Assert.True(reader.Report.Completed);
        Assert.Equal(0, reader.Report.RowsQuarantined);
        return rows;
    }

    private static async Task<HashSet<string>> Keys(string schemaPath) => (await ReadAll(schemaPath)).Select(r => r.Key!).ToHashSet();

    [Fact]
    public async Task Same_seed_gives_byte_identical_files_and_another_seed_does_not()
    {
        using var dir = new TempFolder();
        var small = new SyntheticWorldOptions { Users = 300, Songs = 80, InteractionsPerUser = 10, Seed = 11 };
        await SyntheticWorld.GenerateAsync(small, dir.File("a"));
        await SyntheticWorld.GenerateAsync(small, dir.File("b"));
        await SyntheticWorld.GenerateAsync(small with { Seed = 12 }, dir.File("c"));

        var files = Directory.GetFiles(dir.File("a"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir.File("a"), f)).Order().ToList();
        Assert.Equal(15, files.Count);   // 7 tables + 7 schemas + world.json
        foreach (var f in files)
            Assert.True(File.ReadAllBytes(Path.Combine(dir.File("a"), f)).SequenceEqual(File.ReadAllBytes(Path.Combine(dir.File("b"), f))), f);
        var interactions = Path.Combine("music", "interactions.csv");
        Assert.False(File.ReadAllBytes(dir.File(Path.Combine("a", interactions))).SequenceEqual(File.ReadAllBytes(dir.File(Path.Combine("c", interactions)))));
    }

    [Theory]
    [InlineData(TableFormat.Csv)]
    [InlineData(TableFormat.Parquet)]
    public async Task Every_table_validates_against_its_schema_file_with_the_counts_of_the_summary(TableFormat format)
    {
        var root = worlds.Root(format);
        var summary = format == TableFormat.Csv ? worlds.CsvSummary : worlds.ParquetSummary;
        Assert.Equal(summary.ExternalUsers, (await ReadAll(SyntheticWorldLayout.ExternalUsersSchema(root))).Count);
        Assert.Equal(summary.WarmUsers, (await ReadAll(SyntheticWorldLayout.MusicUsersSchema(root))).Count);
        Assert.Equal(worlds.Options.Songs, (await ReadAll(SyntheticWorldLayout.SongsSchema(root))).Count);
        Assert.Equal(summary.TrainingInteractions, (await ReadAll(SyntheticWorldLayout.InteractionsSchema(root))).Count);
        Assert.Equal(summary.HeldOutInteractions, (await ReadAll(SyntheticWorldLayout.HeldOutSchema(root))).Count);
        Assert.Equal(worlds.Options.Users, (await ReadAll(SyntheticWorldLayout.TruthUsersSchema(root))).Count);
        Assert.All(await ReadAll(SyntheticWorldLayout.SongsSchema(root)), s => Assert.Equal(worlds.Options.AudioWidth, s.GetVector("audio")!.Length));
        Assert.Equal(["songs", "users", "interactions"], worlds.Stages.Distinct());
    }

    [Fact]
    public async Task Csv_and_parquet_worlds_of_one_seed_hold_the_same_rows()
    {
        var csv = Interactions.Project(await ReadAll(SyntheticWorldLayout.InteractionsSchema(worlds.Csv))).ToList();
        var parquet = Interactions.Project(await ReadAll(SyntheticWorldLayout.InteractionsSchema(worlds.Parquet))).ToList();
        Assert.Equal(csv, parquet);
        var csvSongs = await ReadAll(SyntheticWorldLayout.SongsSchema(worlds.Csv));
        var parquetSongs = await ReadAll(SyntheticWorldLayout.SongsSchema(worlds.Parquet));
        Assert.Equal(csvSongs.Select(s => s.GetVector("audio")!), parquetSongs.Select(s => s.GetVector("audio")!));
        Assert.Equal(csvSongs.Select(s => string.Join("|", s.GetTokens("moods"))), parquetSongs.Select(s => string.Join("|", s.GetTokens("moods"))));
    }

    [Fact]
    public async Task User_overlap_between_parties_is_partial_at_the_requested_ratio()
    {
        var external = await Keys(SyntheticWorldLayout.ExternalUsersSchema(worlds.Csv));
        var music = await Keys(SyntheticWorldLayout.MusicUsersSchema(worlds.Csv));
        var overlap = music.Count(external.Contains) / (double)music.Count;
        output.WriteLine($"E {external.Count}, M {music.Count}, overlap/M {overlap:F3}");

        Assert.InRange(overlap, worlds.Options.OverlapRatio - 0.05, worlds.Options.OverlapRatio + 0.05);
        Assert.Equal(worlds.CsvSummary.OverlapUsers, music.Count(external.Contains));
        Assert.True(external.Count > music.Count(external.Contains), "E also knows users M does not");
        foreach (var cold in worlds.Truth.UsersInSegment(SyntheticWorldLayout.ColdUser))
        {
            Assert.Contains(cold, external);           // known to E
            Assert.DoesNotContain(cold, music);        // new to M
        }
    }

    [Theory]
    [InlineData(TableFormat.Csv)]
    [InlineData(TableFormat.Parquet)]
    public async Task Held_out_users_and_songs_are_absent_from_the_music_partys_training_interactions(TableFormat format)
    {
        var root = worlds.Root(format);
        var training = Interactions.Project(await ReadAll(SyntheticWorldLayout.InteractionsSchema(root))).ToList();
        var coldUsers = worlds.Truth.UsersInSegment(SyntheticWorldLayout.ColdUser).ToHashSet();
        var coldSongs = worlds.Truth.ColdSongs.ToHashSet();
        Assert.NotEmpty(coldUsers);
        Assert.NotEmpty(coldSongs);
        Assert.DoesNotContain(training, i => coldUsers.Contains(i.User));
        Assert.DoesNotContain(training, i => coldSongs.Contains(i.Song));
        Assert.All(training, i => Assert.Equal(SyntheticWorldLayout.WarmUser, worlds.Truth.Segment(i.User)));

        var heldOut = await ReadAll(SyntheticWorldLayout.HeldOutSchema(root));
        foreach (var row in heldOut)
        {
            var (user, song, segment) = (row.GetText("user_id")!, row.GetText("song_id")!, row.GetText("segment"));
            var expected = (coldUsers.Contains(user), coldSongs.Contains(song)) switch
            {
                (true, true) => SyntheticWorldLayout.ColdBothSegment,
                (true, false) => SyntheticWorldLayout.ColdUserSegment,
                (false, true) => SyntheticWorldLayout.ColdSongSegment,
                _ => "a warm pair must not be held out",
            };
            Assert.Equal(expected, segment);
        }

        // Every cold user has a test history, and labels are multi-objective and consistent.
        Assert.Equal(coldUsers.Count, heldOut.Where(r => r.GetText("segment") != SyntheticWorldLayout.ColdSongSegment).Select(r => r.GetText("user_id")).Distinct().Count());
        Assert.All(training, i => Assert.True(i.Play == (i.ListenRatio == 1.0) && !(i.Play == true && i.Skip == true) && (i.Collect != true || i.Play == true)));
        Assert.Contains(training, i => i.Collect == true);
        Assert.Contains(training, i => i.Skip == true);
    }

    [Fact]
    public async Task Song_popularity_follows_the_requested_power_law()
    {
        var counts = new Dictionary<string, int>();
        foreach (var path in new[] { SyntheticWorldLayout.InteractionsSchema(worlds.Csv), SyntheticWorldLayout.HeldOutSchema(worlds.Csv) })
            foreach (var i in Interactions.Project(await ReadAll(path)))
                counts[i.Song] = counts.GetValueOrDefault(i.Song) + 1;
        var sorted = counts.Values.OrderDescending().ToArray();
        // Least-squares slope of log(count) on log(rank) over the top half of the songs.
        var n = sorted.Length / 2;
        var xs = Enumerable.Range(1, n).Select(r => Math.Log(r)).ToArray();
        var ys = sorted.Take(n).Select(c => Math.Log(c)).ToArray();
        var (mx, my) = (xs.Average(), ys.Average());
        var slope = xs.Zip(ys).Sum(p => (p.First - mx) * (p.Second - my)) / xs.Sum(x => (x - mx) * (x - mx));
        output.WriteLine($"fitted exponent {-slope:F3} (requested {worlds.Options.PopularityExponent})");
        Assert.InRange(-slope, worlds.Options.PopularityExponent - 0.15, worlds.Options.PopularityExponent + 0.15);
    }

    [Fact]
    public async Task The_oracle_from_the_ground_truth_is_far_above_popularity_on_both_cold_start_tasks()
    {
        var users = await SyntheticEvaluation.ColdUsersAsync(worlds.Csv, worlds.Truth);
        var songs = await SyntheticEvaluation.ColdSongsAsync(worlds.Csv, worlds.Truth);
        var reports = new[]
        {
            await SyntheticEvaluation.PopularityAsync(worlds.Csv, users), SyntheticEvaluation.Oracle(worlds.Truth, users),
            await SyntheticEvaluation.PopularityAsync(worlds.Csv, songs), SyntheticEvaluation.Oracle(worlds.Truth, songs),
        };
        foreach (var r in reports) output.WriteLine(r.ToString());

        Assert.True(users.Users.Count >= 100 && songs.Users.Count >= 100);
        Assert.True(reports[1][10].HitRate >= 2 * reports[0][10].HitRate, "cold users: oracle HR@10 vs popularity");
        Assert.True(reports[1][50].Recall >= 2 * reports[0][50].Recall, "cold users: oracle Recall@50 vs popularity");
        Assert.True(reports[3][10].Recall >= 3 * reports[2][10].Recall, "cold songs: oracle Recall@10 vs popularity");
    }

    [Fact]
    public async Task External_features_reveal_the_taste_of_cold_users_so_federation_can_beat_music_alone()
    {
        var (knn, popularity) = await ExternalKnn(worlds.Csv, worlds.Truth);
        output.WriteLine(knn.ToString());
        output.WriteLine(popularity.ToString());
        Assert.True(knn[10].HitRate >= 1.3 * popularity[10].HitRate, $"kNN HR@10 {knn[10].HitRate:F3} vs popularity {popularity[10].HitRate:F3}");
        Assert.True(knn[50].Recall >= 1.25 * popularity[50].Recall, $"kNN Recall@50 {knn[50].Recall:F3} vs popularity {popularity[50].Recall:F3}");
    }

    [Fact]
    public async Task With_zero_informativeness_external_features_and_audio_carry_no_signal()
    {
        using var dir = new TempFolder();
        await SyntheticWorld.GenerateAsync(worlds.Options with { ExternalInformativeness = 0, AudioInformativeness = 0 }, dir.Path);
        var truth = await GroundTruth.LoadAsync(dir.Path);
        var (knn, popularity) = await ExternalKnn(dir.Path, truth);
        var (neighbour, random) = await AudioNeighbourStyle(dir.Path, truth);
        output.WriteLine($"{knn}\n{popularity}\naudio neighbour {neighbour:F3} random {random:F3}");
        Assert.True(knn[50].Recall <= 1.1 * popularity[50].Recall, "noise features must not beat popularity by much");
        Assert.True(neighbour <= random + 0.15, "noise audio must not find songs of the same style");
    }

    /// <summary>
    /// A learning-free stand-in for a federated user tower: encode E's features (fitted on the overlapping warm
    /// users only), find each cold user's 30 nearest overlapping warm users, and rank songs by how often those
    /// neighbours played them. M alone knows nothing of a cold user: its best is popularity.
    /// </summary>
    private static async Task<(RecallReport Knn, RecallReport Popularity)> ExternalKnn(string root, GroundTruth truth)
    {
        var externalSchema = TableSchema.Load(SyntheticWorldLayout.ExternalUsersSchema(root));
        var externalRows = await ReadAll(SyntheticWorldLayout.ExternalUsersSchema(root));
        var warm = await Keys(SyntheticWorldLayout.MusicUsersSchema(root));
        var training = externalRows.Where(r => warm.Contains(r.Key!)).ToList();
        var preprocessor = FeaturePreprocessor.Fit(externalSchema, training);
        var task = await SyntheticEvaluation.ColdUsersAsync(root, truth);

        var played = new Dictionary<string, Dictionary<string, int>>();
        foreach (var i in Interactions.Project(await ReadAll(SyntheticWorldLayout.InteractionsSchema(root))))
        {
            if (!played.TryGetValue(i.User, out var songs)) played[i.User] = songs = new Dictionary<string, int>();
            songs[i.Song] = songs.GetValueOrDefault(i.Song) + 1;
        }

        var reference = Embed(preprocessor, training);
        var coldRows = externalRows.Where(r => task.Relevant.ContainsKey(r.Key!)).ToList();
        var coldEmbedded = Embed(preprocessor, coldRows);
        var rankings = new Dictionary<string, IReadOnlyList<string>>();
        for (var c = 0; c < coldRows.Count; c++)
        {
            var similarity = reference.Select(w => Cosine(coldEmbedded[c], w)).ToArray();
            var votes = new Dictionary<string, double>();
            foreach (var n in Rankings.TopK(similarity, 30))
                if (played.TryGetValue(training[n].Key!, out var songs))
                    foreach (var (song, count) in songs) votes[song] = votes.GetValueOrDefault(song) + count;
            var candidates = votes.Keys.Order(StringComparer.Ordinal).ToArray();
            rankings[coldRows[c].Key!] = Rankings.TopK(candidates.Select(s => votes[s]).ToArray(), 100).Select(i => candidates[i]).ToArray();
        }

        var knn = RecallMetrics.Evaluate("E-feature kNN", rankings, task.Relevant.ToDictionary(kv => kv.Key, kv => kv.Value));
        return (knn, await SyntheticEvaluation.PopularityAsync(root, task));
    }

    [Fact]
    public async Task Audio_descriptors_reveal_the_style_of_cold_songs()
    {
        var (neighbour, random) = await AudioNeighbourStyle(worlds.Csv, worlds.Truth);
        output.WriteLine($"style cosine: audio nearest neighbour {neighbour:F3}, random warm song {random:F3}");
        Assert.True(neighbour >= 0.6 && neighbour >= random + 0.4);
    }

    /// <summary>Mean true-style cosine between each cold song and its nearest warm song by audio, and a random one.</summary>
    private static async Task<(double Neighbour, double Random)> AudioNeighbourStyle(string root, GroundTruth truth)
    {
        var schema = TableSchema.Load(SyntheticWorldLayout.SongsSchema(root));
        var audioOnly = schema with { Columns = schema.Columns.Select(c => c with { Feature = c.Kind == ColumnKind.Vector }).ToArray() };
        var songs = (await ReadAll(SyntheticWorldLayout.SongsSchema(root))).Select(r => Retag(r, audioOnly)).ToList();
        var warm = songs.Where(s => !truth.IsColdSong(s.Key!)).ToList();
        var cold = songs.Where(s => truth.IsColdSong(s.Key!)).ToList();
        var preprocessor = FeaturePreprocessor.Fit(audioOnly, warm);   // fitted on warm (training) songs only
        var warmAudio = Embed(preprocessor, warm);
        var coldAudio = Embed(preprocessor, cold);
        var styles = (await ReadAll(SyntheticWorldLayout.TruthSongsSchema(root))).ToDictionary(r => r.Key!, r => r.GetVector("style")!);

        double neighbour = 0, random = 0;
        for (var c = 0; c < cold.Count; c++)
        {
            var nearest = Rankings.TopK(warmAudio.Select(w => Cosine(coldAudio[c], w)).ToArray(), 1)[0];
            neighbour += Cosine(styles[cold[c].Key!], styles[warm[nearest].Key!]);
            random += Cosine(styles[cold[c].Key!], styles[warm[(c * 7919) % warm.Count].Key!]);
        }

        return (neighbour / cold.Count, random / cold.Count);
    }

    private static DataRow Retag(DataRow row, TableSchema schema)
    {
        var copy = new DataRow(schema);
        for (var c = 0; c < schema.Columns.Count; c++)
        {
            switch (schema.Columns[c].Kind)
            {
                case ColumnKind.Vector: copy.SetVector(c, row.GetVector(c)); break;
                case ColumnKind.MultiCategorical: copy.SetTokens(c, row.GetTokens(c).ToArray()); break;
                case ColumnKind.Id or ColumnKind.Categorical: copy.SetText(c, row.GetText(c)); break;
                default: copy.SetNumber(c, row.GetNumber(c)); break;
            }
        }

        return copy;
    }

    /// <summary>Dense features plus one-hot categories and multi-hot tokens, as one float vector per row.</summary>
    private static float[][] Embed(FeaturePreprocessor p, IReadOnlyList<DataRow> rows)
    {
        var m = p.EncodeAll(rows);
        var categorical = p.CategoricalCardinalities;
        var multi = p.MultiCategoricalCardinalities;
        var width = m.DenseWidth + categorical.Sum() + multi.Sum();
        var result = new float[m.RowCount][];
        for (var r = 0; r < m.RowCount; r++)
        {
            var v = new float[width];
            m.DenseRow(r).CopyTo(v);
            var offset = m.DenseWidth;
            for (var c = 0; c < categorical.Length; c++) { v[offset + m.CategoricalRow(r)[c]] = 1; offset += categorical[c]; }
            for (var k = 0; k < multi.Length; k++)
            {
                foreach (var id in m.MultiCategorical[k].Row(r)) v[offset + id] = 1;
                offset += multi[k];
            }

            result[r] = v;
        }

        return result;
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb + 1e-12);
    }
}
