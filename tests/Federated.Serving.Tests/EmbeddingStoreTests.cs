using Federated.Serving.Publication;

namespace Federated.Serving.Tests;

[Trait("Category", "Unit")]
public sealed class EmbeddingStoreTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "federated-store-" + Guid.NewGuid().ToString("N")[..12]);

    internal static EmbeddingManifest Manifest(int dimensions = 4, string job = "rec") => new()
    {
        TrainingJob = job, AttemptId = "job-1", Round = 1, Dimensions = dimensions, Items = 0, Users = 0,
        SchemaFingerprint = "abc", Metrics = new Dictionary<string, double> { ["hr@50"] = 0.6 },
    };

    /// <summary>Items "song-i" whose vectors all hold <paramref name="mark"/>, so a vector tells which version it came from.</summary>
    internal static (string[] Keys, float[] Vectors) Rows(string prefix, int count, int d, float mark)
    {
        var keys = Enumerable.Range(0, count).Select(i => $"{prefix}-{i}").ToArray();
        var vectors = Enumerable.Range(0, count * d).Select(i => mark + i / (float)d / 1000).ToArray();
        return (keys, vectors);
    }

    private EmbeddingSet PublishVersion(EmbeddingVersionStore store, float mark, bool makeCurrent = true)
    {
        var (items, iv) = Rows("song", 10, 4, mark);
        var (users, uv) = Rows("user", 3, 4, mark);
        return store.Publish(Manifest(), items, iv, users, uv, makeCurrent);
    }

    [Fact]
    public void A_published_set_reads_back_with_its_keys_vectors_and_manifest()
    {
        var store = new EmbeddingVersionStore(_folder);
        var set = PublishVersion(store, 1f);
        var read = store.OpenCurrent()!;
        Assert.Equal("v1", read.Manifest.Version);
        Assert.Equal(10, read.Manifest.Items);
        Assert.Equal(3, read.Manifest.Users);
        Assert.Equal(0.6, read.Manifest.Metrics["hr@50"]);
        Assert.True(read.TryGetItem("song-7", out var vector));
        Assert.Equal(set.ItemMatrix.Span.Slice(7 * 4, 4).ToArray(), vector.ToArray());
        Assert.False(read.TryGetUser("nobody", out _));
    }

    [Fact]
    public void Publishing_switches_the_current_version_and_rollback_switches_it_back()
    {
        var store = new EmbeddingVersionStore(_folder);
        var seen = new List<string>();
        store.CurrentChanged += s => seen.Add(s.Manifest.Version);
        PublishVersion(store, 1f);
        PublishVersion(store, 2f);
        Assert.Equal("v2", store.CurrentVersion);
        Assert.Equal("v1", store.Rollback().Manifest.Version);
        Assert.Equal("v1", store.CurrentVersion);
        Assert.Equal("v2", store.Rollback("v2").Manifest.Version);
        Assert.Equal(["v1", "v2", "v1", "v2"], seen);
        Assert.Equal(["v1", "v2"], store.List().Select(v => v.Version));
        Assert.True(store.List().Single(v => v.Current).Version == "v2");
    }

    [Fact]
    public void A_gated_publication_does_not_switch_and_old_versions_are_pruned_but_never_the_current_or_its_predecessor()
    {
        var store = new EmbeddingVersionStore(_folder, keepVersions: 2);
        PublishVersion(store, 1f);
        PublishVersion(store, 2f, makeCurrent: false);
        Assert.Equal("v1", store.CurrentVersion);
        PublishVersion(store, 3f, makeCurrent: false);
        PublishVersion(store, 4f, makeCurrent: false);
        var kept = store.List().Select(v => v.Version).ToArray();
        Assert.Contains("v1", kept);                    // current, although the oldest
        Assert.Equal(["v1", "v3", "v4"], kept);
    }

    [Fact]
    public void Unknown_versions_and_rollback_without_history_are_refused_naming_what_exists()
    {
        var store = new EmbeddingVersionStore(_folder);
        Assert.Contains("no version of", Assert.Throws<InvalidOperationException>(() => store.Rollback()).Message);
        PublishVersion(store, 1f);
        Assert.Contains("no version older than v1", Assert.Throws<InvalidOperationException>(() => store.Rollback()).Message);
        var e = Assert.Throws<KeyNotFoundException>(() => store.Rollback("v9"));
        Assert.Contains("unknown model version 'v9' (published: v1)", e.Message);
    }

    [Fact]
    public void A_damaged_set_is_refused_by_name_and_a_rollback_to_it_leaves_the_current_version()
    {
        var store = new EmbeddingVersionStore(_folder);
        var v1 = PublishVersion(store, 1f);
        PublishVersion(store, 2f);
        var bytes = File.ReadAllBytes(Path.Combine(v1.Folder, "items.f32"));
        bytes[5] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(v1.Folder, "items.f32"), bytes);
        var e = Assert.Throws<InvalidDataException>(() => store.Rollback("v1"));
        Assert.Contains("items.f32 does not match the hash", e.Message);
        Assert.Equal("v2", store.CurrentVersion);
    }

    [Fact]
    public void Bad_vectors_are_refused_before_anything_is_written()
    {
        var store = new EmbeddingVersionStore(_folder);
        var (items, iv) = Rows("song", 2, 4, 1f);
        iv[5] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => store.Publish(Manifest(), items, iv, [], []));
        Assert.Contains("'song-1' has a non-finite value at dimension 1", e.Message);
        Assert.Contains("3 item keys need 12 floats", Assert.Throws<ArgumentException>(() => store.Publish(Manifest(), ["a", "b", "c"], new float[8], [], [])).Message);
        Assert.Contains("appears twice", Assert.Throws<ArgumentException>(() => store.Publish(Manifest(), ["a", "a"], new float[8], [], [])).Message);
        Assert.Null(store.CurrentVersion);
        Assert.Empty(store.List());
    }

    [Fact]
    public void A_versions_new_song_encoder_files_are_kept_inside_it_hashed_and_a_changed_one_is_refused()
    {
        var store = new EmbeddingVersionStore(_folder);
        var encoder = Path.Combine(_folder, "encoder-source");
        Directory.CreateDirectory(encoder);
        File.WriteAllText(Path.Combine(encoder, "item-tower.json"), "{\"shape\": 1}");
        File.WriteAllBytes(Path.Combine(encoder, "item-tower.bin"), [1, 2, 3, 4]);
        var (items, iv) = Rows("song", 4, 4, 1f);
        var plain = store.Publish(Manifest(), items, iv, [], []);
        var withEncoder = store.Publish(Manifest(), items, iv, [], [], encoderFolder: encoder);
        Assert.Null(plain.EncoderFolder);
        Assert.NotNull(withEncoder.EncoderFolder);
        Assert.Equal("{\"shape\": 1}", File.ReadAllText(Path.Combine(withEncoder.EncoderFolder!, "item-tower.json")));
        Assert.Contains("encoder/item-tower.bin", store.Open("v2").Manifest.Files.Keys);

        File.WriteAllBytes(Path.Combine(withEncoder.EncoderFolder!, "item-tower.bin"), [1, 2, 3, 5]);
        var e = Assert.Throws<InvalidDataException>(() => store.Open("v2"));
        Assert.Contains("encoder/item-tower.bin does not match the hash", e.Message);
        File.WriteAllBytes(Path.Combine(withEncoder.EncoderFolder!, "item-tower.bin"), [1, 2, 3, 4]);
        Assert.NotNull(store.Open("v2").EncoderFolder);
        File.Delete(Path.Combine(withEncoder.EncoderFolder!, "item-tower.json"));
        Assert.Contains("encoder/item-tower.json is missing", Assert.Throws<InvalidDataException>(() => store.Open("v2")).Message);
        Assert.Contains("holds no files", Assert.Throws<ArgumentException>(() =>
            store.Publish(Manifest(), items, iv, [], [], encoderFolder: Directory.CreateDirectory(Path.Combine(_folder, "empty")).FullName)).Message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
