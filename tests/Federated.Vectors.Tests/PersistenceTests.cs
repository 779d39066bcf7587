using Federated.Tests.Shared;

namespace Federated.Vectors.Tests;

public sealed class PersistenceTests : IDisposable
{
    private const int Dimension = 32;
    private readonly string _folder = Directory.CreateTempSubdirectory("vectors-tests-").FullName;
    private readonly float[] _rows;
    private readonly float[] _queries;

    public PersistenceTests()
    {
        var mixture = new SyntheticVectors(clusters: 20, Dimension, spread: 0.6, seed: 31);
        _rows = mixture.Sample(4000, seed: 32);
        _queries = mixture.Sample(60, seed: 33);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static string[] SongIds(int count) => Enumerable.Range(0, count).Select(i => $"song-{i:D5}-ü").ToArray();

    [Theory]
    [InlineData(VectorMetric.InnerProduct)]
    [InlineData(VectorMetric.Cosine)]
    public void An_exact_index_answers_the_same_after_save_and_load(VectorMetric metric)
    {
        using var built = new ExactIndex<string>(Dimension, metric);
        built.AddRange(SongIds(4000), _rows);
        built.Save(PathOf("items.exact"));

        using var loaded = ExactIndex<string>.Load(PathOf("items.exact"));

        Assert.Equal((built.Count, built.Dimension, built.Metric), (loaded.Count, loaded.Dimension, loaded.Metric));
        Assert.Equal(built.SearchBatch(_queries, 25), loaded.SearchBatch(_queries, 25));
    }

    [Fact]
    public void An_hnsw_index_answers_the_same_after_load_and_as_a_memory_mapped_view()
    {
        var options = new HnswOptions { Connectivity = 12, ExpansionAdd = 64, ExpansionSearch = 96, Threads = 2 };
        using var built = new HnswIndex<long>(Dimension, VectorMetric.InnerProduct, options);
        built.AddRange(Enumerable.Range(0, 4000).Select(i => (long)i * 3).ToArray(), _rows);
        var expected = built.SearchBatch(_queries, 25);
        built.Save(PathOf("items.hnsw"));

        using var loaded = HnswIndex<long>.Load(PathOf("items.hnsw"));
        using var viewed = HnswIndex<long>.View(PathOf("items.hnsw"));

        foreach (var index in new[] { loaded, viewed })
        {
            Assert.Equal(4000, index.Count);
            Assert.Equal(options with { Threads = HnswOptions.Default.Threads }, index.Options);
            Assert.Equal(expected, index.SearchBatch(_queries, 25));
        }
        Assert.False(loaded.IsReadOnly);
        Assert.True(viewed.IsReadOnly);
        Assert.True(viewed.NativeMemoryBytes < loaded.NativeMemoryBytes, $"view {viewed.NativeMemoryBytes} B, loaded {loaded.NativeMemoryBytes} B");
    }

    [Fact]
    public void A_loaded_hnsw_index_takes_more_vectors_and_a_view_refuses_them()
    {
        using (var built = new HnswIndex<long>(Dimension))
        {
            built.AddRange(Enumerable.Range(0, 3000).Select(i => (long)i).ToArray(), _rows.AsMemory(0, 3000 * Dimension));
            built.Save(PathOf("part.hnsw"));
        }

        using var loaded = HnswIndex<long>.Load(PathOf("part.hnsw"));
        loaded.AddRange(Enumerable.Range(3000, 1000).Select(i => (long)i).ToArray(), _rows.AsMemory(3000 * Dimension));
        Assert.Equal(4000, loaded.Count);
        Assert.Equal(3999L, loaded.Search(Reference.Row(_rows, Dimension, 3999), 1)[0].Id);

        using var viewed = HnswIndex<long>.View(PathOf("part.hnsw"));
        Assert.Contains("read-only", Assert.Throws<InvalidOperationException>(() => viewed.Add(5000, Reference.Row(_rows, Dimension, 0))).Message);
        Assert.Equal(3000, viewed.Count);
    }

    [Fact]
    public void The_factory_opens_either_kind_and_the_expansion_can_be_overridden_on_open()
    {
        var ids = SongIds(4000);
        using (var exact = VectorIndexFactory.Build(Dimension, ids, _rows, policy: new VectorIndexPolicy { ExactBelow = 5000 }))
            exact.Save(PathOf("a.index"));
        using (var hnsw = VectorIndexFactory.Build(Dimension, ids, _rows, policy: new VectorIndexPolicy { ExactBelow = 1000 }))
            hnsw.Save(PathOf("b.index"));

        using var a = VectorIndexFactory.Load<string>(PathOf("a.index"));
        using var b = VectorIndexFactory.Load<string>(PathOf("b.index"), view: true);
        using var c = HnswIndex<string>.View(PathOf("b.index"), expansionSearch: 300);

        Assert.Equal(VectorIndexKind.Exact, a.Kind);
        Assert.Equal(VectorIndexKind.Hnsw, b.Kind);
        Assert.True(b.IsReadOnly);
        Assert.Equal(HnswOptions.Default.ExpansionSearch, ((HnswIndex<string>)b).ExpansionSearch);
        Assert.Equal(300, c.ExpansionSearch);
        Assert.True(Reference.Recall(b.SearchBatch(_queries, 10), a.SearchBatch(_queries, 10), 10) >= 0.95);
    }

    [Fact]
    public void Saving_again_replaces_the_file_and_leaves_no_temporary_files()
    {
        using var index = new ExactIndex<long>(Dimension);
        index.AddRange([1L, 2L], _rows.AsMemory(0, 2 * Dimension));
        index.Save(PathOf("items.exact"));
        index.Add(3, _rows.AsSpan(2 * Dimension, Dimension));
        index.Save(PathOf("items.exact"));

        Assert.Equal(["items.exact"], Directory.GetFiles(_folder).Select(Path.GetFileName));
        using var loaded = ExactIndex<long>.Load(PathOf("items.exact"));
        Assert.Equal(3, loaded.Count);
    }

    [Fact]
    public void A_damaged_or_foreign_file_is_refused_with_what_is_wrong()
    {
        using (var index = new HnswIndex<long>(Dimension))
        {
            index.AddRange(Enumerable.Range(0, 500).Select(i => (long)i).ToArray(), _rows.AsMemory(0, 500 * Dimension));
            index.Save(PathOf("good.hnsw"));
        }
        var bytes = File.ReadAllBytes(PathOf("good.hnsw"));
        File.WriteAllBytes(PathOf("truncated.hnsw"), bytes[..(bytes.Length / 2)]);
        File.WriteAllText(PathOf("foreign.hnsw"), "user_id,vector\n1,0.5\n" + new string('x', 200));

        Assert.Contains("truncated", Assert.Throws<VectorIndexException>(() => HnswIndex<long>.Load(PathOf("truncated.hnsw"))).Message);
        Assert.Contains("not a vector index file", Assert.Throws<VectorIndexException>(() => VectorIndexFactory.Load<long>(PathOf("foreign.hnsw"))).Message);
        Assert.Contains("holds long ids; it was opened with string ids", Assert.Throws<VectorIndexException>(() => HnswIndex<string>.View(PathOf("good.hnsw"))).Message);
        Assert.Contains("holds the Hnsw kind of index, not Exact", Assert.Throws<VectorIndexException>(() => ExactIndex<long>.Load(PathOf("good.hnsw"))).Message);
        Assert.Throws<FileNotFoundException>(() => VectorIndexFactory.Load<long>(PathOf("missing.hnsw")));
    }
}
