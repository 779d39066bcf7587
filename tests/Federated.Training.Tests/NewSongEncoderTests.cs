using System.Globalization;
using Federated.Core.Jobs;
using Federated.Data.Reading;
using Federated.Data.Schema;
using Federated.Experiments;
using Federated.Learning.Model;
using Federated.Learning.Split;
using Federated.Synthetic;
using Federated.Training.Data;
using Federated.Training.Jobs;
using Federated.Training.Tests.Support;
using Xunit.Abstractions;

namespace Federated.Training.Tests;

/// <summary>One small synthetic world and an untrained item tower's encoder over its songs, shared by the tests below.</summary>
public sealed class NewSongWorldFixture : IAsyncLifetime
{
    public string Work { get; } = TestWorlds.NewFolder("newsong");
    public string World { get; private set; } = "";
    public string MusicFolder => Path.Combine(World, SyntheticWorldLayout.MusicFolder);
    public NewSongEncoder Untrained { get; private set; } = null!;
    public IReadOnlyList<SongRow> Songs { get; private set; } = [];

    public async Task InitializeAsync()
    {
        World = await TestWorlds.GenerateAsync(SyntheticWorldOptions.Tiny with { Users = 800, Songs = 300 }, Work);
        Songs = await SongRow.ReadAllAsync(SyntheticWorldLayout.SongsSchema(World));
        var data = await MusicPartyData.LoadAsync(MusicFolder);
        var model = new TrainingModelOptions();
        using var top = ModelShapes.Seeded(5, () => new MusicTopModel(ModelShapes.MusicTop(data, model)));
        var folder = Path.Combine(Work, "untrained-encoder");
        NewSongEncoder.Write(folder, top, data);
        Untrained = NewSongEncoder.Load(folder);
    }

    public Task DisposeAsync()
    {
        Untrained?.Dispose();
        Directory.Delete(Work, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>A row of M's songs table as a serving request gives it: metadata cells as text and the audio descriptor.</summary>
public sealed record SongRow(string Key, Dictionary<string, string> Metadata, float[] Audio)
{
    public static async Task<IReadOnlyList<SongRow>> ReadAllAsync(string schemaPath)
    {
        var rows = new List<SongRow>();
        await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
        await foreach (var row in reader)
        {
            var (metadata, audio) = NewSongEncoder.CellsOf(row);
            rows.Add(new SongRow(row.Key!, metadata, audio));
        }
        return rows;
    }

    public Dictionary<string, string> With(string column, string value) => new(Metadata, StringComparer.Ordinal) { [column] = value };

    public Dictionary<string, string> Without(string column)
    {
        var copy = new Dictionary<string, string>(Metadata, StringComparer.Ordinal);
        copy.Remove(column);
        return copy;
    }
}

/// <summary>
/// A new song's vector at request time (docs/protocol.md §4.2): the published version's item tower with the audio
/// encoder's output as the ID embedding, from the request's metadata cells and audio descriptor.
/// </summary>
public sealed class NewSongEncoderTests(NewSongWorldFixture fixture, ITestOutputHelper output) : IClassFixture<NewSongWorldFixture>
{
    [Fact]
    public async Task A_cold_songs_own_metadata_and_audio_give_the_vector_its_trained_version_published_for_it()
    {
        var harness = await EvaluationHarness.ForSyntheticColdUsersAsync(fixture.World);
        var options = TestWorlds.Job("newsong") with
        {
            Epochs = 4, TorchThreads = 1, Mode = FederationMode.PlaintextReference, Insecure = InsecureAllowances.PlaintextReference,
            Model = new TrainingModelOptions { MusicPretrainEpochs = 1 },
        };
        var (_, music) = await FederatedExperiment.RunFederatedInProcessAsync(fixture.World, Path.Combine(fixture.Work, "jobs"), options, harness.UsersToRank, 11, 22);
        var e = music.Embeddings;
        Assert.NotNull(e.EncoderFolder);
        using var encoder = NewSongEncoder.Load(e.EncoderFolder!);
        Assert.Equal(e.Dimensions, encoder.Dimensions);

        var data = await MusicPartyData.LoadAsync(fixture.MusicFolder);
        var row = e.ItemKeys.Select((k, i) => (k, i)).ToDictionary(p => p.k, p => p.i, StringComparer.Ordinal);
        double worstCold = 0;
        int cold = 0;
        var warm = new List<double>();
        foreach (var song in fixture.Songs)
        {
            var vector = encoder.Encode(song.Metadata, song.Audio);
            Assert.Equal(1.0, Math.Sqrt(vector.Sum(v => (double)v * v)), 5); // L2-normalised like the published vectors
            var published = e.Items.AsSpan(row[song.Key] * e.Dimensions, e.Dimensions);
            double difference = 0;
            for (int j = 0; j < vector.Length; j++) difference = Math.Max(difference, Math.Abs(vector[j] - published[j]));
            if (data.SongInteractionCounts[data.SongIndex[song.Key]] == 0) { cold++; worstCold = Math.Max(worstCold, difference); }
            else warm.Add(difference);
        }
        warm.Sort();
        var medianWarm = warm[warm.Count / 2];
        output.WriteLine($"{cold} cold songs: largest component difference {worstCold:E2}; {warm.Count} warm songs: smallest {warm[0]:E2}, median {medianWarm:E2}");
        Assert.True(cold > 10, $"{cold} cold songs in the world");
        // Same function of the same inputs (the encoding re-fitted from the saved vocabularies and statistics): float rounding only.
        Assert.True(worstCold <= 1e-5, $"a cold song's vector differs from the published one by {worstCold:E2}");
        // Warm songs have trained ID embeddings: the audio stand-in gives another vector, so the comparison can tell them apart.
        Assert.True(medianWarm > 1e-2, $"half the warm songs' vectors are within {medianWarm:E2} of their audio-only vectors");
    }

    [Fact]
    public void Unknown_and_missing_metadata_columns_are_refused_naming_the_column()
    {
        var song = fixture.Songs[0];
        var unknown = Assert.Throws<ArgumentException>(() => fixture.Untrained.Encode(song.With("tempo", "120"), song.Audio));
        Assert.Contains("'tempo'", unknown.Message);
        Assert.Contains("new_song.metadata", unknown.Message);
        var key = Assert.Throws<ArgumentException>(() => fixture.Untrained.Encode(song.With("song_id", "s-new"), song.Audio));
        Assert.Contains("'song_id'", key.Message);
        var missing = Assert.Throws<ArgumentException>(() => fixture.Untrained.Encode(song.Without("genre"), song.Audio));
        Assert.Contains("new_song.metadata['genre'] is missing", missing.Message);
        Assert.Contains("artist", fixture.Untrained.MetadataColumns);
        Assert.DoesNotContain("audio", fixture.Untrained.MetadataColumns);
    }

    [Fact]
    public void A_value_outside_a_strict_columns_categories_is_refused_and_an_unseen_value_of_an_open_column_takes_the_unknown_bucket()
    {
        var song = fixture.Songs[0];
        var strict = Assert.Throws<ArgumentException>(() => fixture.Untrained.Encode(song.With("genre", "polka-noise"), song.Audio));
        Assert.Contains("new_song.metadata['genre']", strict.Message);
        Assert.Contains("unknown category", strict.Message);

        // Two artists M's songs never had both take the out-of-vocabulary id: the same vector, unlike the song's own artist.
        var first = fixture.Untrained.Encode(song.With("artist", "nobody-one"), song.Audio);
        var second = fixture.Untrained.Encode(song.With("artist", "nobody-two"), song.Audio);
        var own = fixture.Untrained.Encode(song.Metadata, song.Audio);
        Assert.Equal(first, second);
        Assert.NotEqual(first, own);
    }

    [Fact]
    public void An_audio_descriptor_of_the_wrong_width_or_a_non_finite_value_is_refused_naming_the_field()
    {
        var song = fixture.Songs[0];
        var shorter = Assert.Throws<ArgumentException>(() => fixture.Untrained.Encode(song.Metadata, song.Audio[..^1]));
        Assert.Contains("new_song.audio_descriptor", shorter.Message);
        Assert.Contains($"expected width {song.Audio.Length}", shorter.Message);
        Assert.Equal(song.Audio.Length, fixture.Untrained.AudioWidth);
        var nan = (float[])song.Audio.Clone();
        nan[3] = float.NaN;
        Assert.Contains("new_song.audio_descriptor", Assert.Throws<ArgumentException>(() => fixture.Untrained.Encode(song.Metadata, nan)).Message);
        var infinite = (float[])song.Audio.Clone();
        infinite[0] = float.PositiveInfinity;
        Assert.Contains("infinite", Assert.Throws<ArgumentException>(() => fixture.Untrained.Encode(song.Metadata, infinite)).Message);
        var duration = Assert.Throws<ArgumentException>(() => fixture.Untrained.Encode(song.With("duration_s", "NaN"), song.Audio));
        Assert.Contains("new_song.metadata['duration_s']", duration.Message);
        Assert.Contains("NaN", duration.Message);
        var notNumber = Assert.Throws<ArgumentException>(() => fixture.Untrained.Encode(song.With("duration_s", "long"), song.Audio));
        Assert.Contains("not a number", notNumber.Message);
    }
}
