using Federated.Tests.Shared;

namespace Federated.Vectors.Tests;

/// <summary>Shared 20,000-vector clustered catalogue (64-d, 100 clusters) with its exact top 10 per query.</summary>
public sealed class ClusteredCatalogue : IDisposable
{
    public const int Dimension = 64, Items = 20_000, Queries = 200, K = 10;

    public ClusteredCatalogue()
    {
        var mixture = new SyntheticVectors(clusters: 100, Dimension, spread: 0.5, seed: 11);
        Rows = mixture.Sample(Items, seed: 12);
        QueryRows = mixture.Sample(Queries, seed: 13);
        Ids = Enumerable.Range(0, Items).Select(i => 1_000_000L + 7L * i).ToArray();
        Exact = new ExactIndex<long>(Dimension);
        Exact.AddRange(Ids, Rows);
        Truth = Exact.SearchBatch(QueryRows, K);
        Hnsw = new HnswIndex<long>(Dimension, VectorMetric.InnerProduct, new HnswOptions { Threads = 2 });
        Hnsw.AddRange(Ids, Rows);
    }

    public float[] Rows { get; }
    public float[] QueryRows { get; }
    public long[] Ids { get; }
    public ExactIndex<long> Exact { get; }
    public HnswIndex<long> Hnsw { get; }
    public VectorHit<long>[][] Truth { get; }

    public void Dispose()
    {
        Exact.Dispose();
        Hnsw.Dispose();
    }
}

public sealed class HnswIndexTests(ClusteredCatalogue catalogue) : IClassFixture<ClusteredCatalogue>
{
    [Fact]
    public void Recall_at_10_against_exact_search_is_at_least_0_95_on_20000_clustered_vectors()
    {
        Assert.Equal(ClusteredCatalogue.Items, catalogue.Hnsw.Count);
        var approximate = catalogue.Hnsw.SearchBatch(catalogue.QueryRows, ClusteredCatalogue.K, threads: 2);

        var recall = Reference.Recall(approximate, catalogue.Truth, ClusteredCatalogue.K);

        Assert.True(recall >= 0.95, $"recall@10 = {recall:F4}");
    }

    [Fact]
    public void Scores_are_the_exact_dot_products_of_query_and_item()
    {
        for (var q = 0; q < 20; q++)
        {
            var query = Reference.Row(catalogue.QueryRows, ClusteredCatalogue.Dimension, q);
            var hits = catalogue.Hnsw.Search(query, 10);
            Assert.Equal(10, hits.Length);
            foreach (var hit in hits)
            {
                var item = catalogue.Exact.GetVector(hit.Id);
                var dot = item.Zip(query, (a, b) => (double)a * b).Sum();
                Assert.Equal(dot, hit.Score, 1e-5);
            }
            Assert.Equal(hits.OrderByDescending(h => h.Score).Select(h => h.Id), hits.Select(h => h.Id));
        }
    }

    [Fact]
    public void Batch_search_returns_the_single_query_answers()
    {
        var batch = catalogue.Hnsw.SearchBatch(catalogue.QueryRows.AsMemory(0, 30 * ClusteredCatalogue.Dimension), 10, threads: 2);
        for (var q = 0; q < 30; q++)
            Assert.Equal(catalogue.Hnsw.Search(Reference.Row(catalogue.QueryRows, ClusteredCatalogue.Dimension, q), 10), batch[q]);
    }

    [Fact]
    public void Every_item_finds_itself_first()
    {
        for (var i = 0; i < ClusteredCatalogue.Items; i += 997)
        {
            var hit = catalogue.Hnsw.Search(Reference.Row(catalogue.Rows, ClusteredCatalogue.Dimension, i), 1).Single();
            Assert.Equal(catalogue.Ids[i], hit.Id);
            Assert.Equal(1.0, hit.Score, 1e-5);
        }
    }

    [Fact]
    public void A_small_expansion_search_loses_recall_that_a_large_one_recovers()
    {
        var small = catalogue.Exact.SearchBatch(catalogue.QueryRows, 100);
        using var index = new HnswIndex<long>(ClusteredCatalogue.Dimension, options: new HnswOptions { Connectivity = 4, ExpansionAdd = 16, ExpansionSearch = 1 });
        index.AddRange(catalogue.Ids, catalogue.Rows);

        var narrow = Reference.Recall(index.SearchBatch(catalogue.QueryRows, 100), small, 100);
        index.ExpansionSearch = 512;
        var wide = Reference.Recall(index.SearchBatch(catalogue.QueryRows, 100), small, 100);

        Assert.Equal(512, index.ExpansionSearch);
        Assert.True(wide > narrow + 0.05, $"recall@100 with ef 1 = {narrow:F3}, with ef 512 = {wide:F3}");
    }

    [Fact]
    public void Building_on_more_threads_than_cores_gives_the_same_quality()
    {
        var options = new HnswOptions { Threads = Environment.ProcessorCount * 4 };
        using var index = new HnswIndex<long>(ClusteredCatalogue.Dimension, options: options);
        index.AddRange(catalogue.Ids.Take(8000).ToArray(), catalogue.Rows.AsMemory(0, 8000 * ClusteredCatalogue.Dimension));
        using var exact = new ExactIndex<long>(ClusteredCatalogue.Dimension);
        exact.AddRange(catalogue.Ids.Take(8000).ToArray(), catalogue.Rows.AsMemory(0, 8000 * ClusteredCatalogue.Dimension));

        var recall = Reference.Recall(index.SearchBatch(catalogue.QueryRows, 10, threads: options.Threads), exact.SearchBatch(catalogue.QueryRows, 10), 10);

        Assert.Equal(8000, index.Count);
        Assert.True(recall >= 0.95, $"recall@10 = {recall:F4}");
    }

    [Fact]
    public void Cosine_hnsw_agrees_with_cosine_exact_search_on_unscaled_vectors()
    {
        var rows = SyntheticVectors.Gaussian(3000, 16, seed: 21);
        var queries = SyntheticVectors.Gaussian(50, 16, seed: 22);
        var ids = Enumerable.Range(0, 3000).Select(i => $"song-{i}").ToArray();
        using var exact = new ExactIndex<string>(16, VectorMetric.Cosine);
        using var hnsw = new HnswIndex<string>(16, VectorMetric.Cosine);
        exact.AddRange(ids, rows);
        hnsw.AddRange(ids, rows);

        var truth = exact.SearchBatch(queries, 10);
        var found = hnsw.SearchBatch(queries, 10);

        Assert.True(Reference.Recall(found, truth, 10) >= 0.95);
        var first = found[0][0];
        Assert.Equal(truth[0].Single(h => h.Id == first.Id).Score, first.Score, 1e-5);
    }

    [Fact]
    public void Single_adds_grow_the_graph_past_its_reserved_capacity()
    {
        var rows = SyntheticVectors.Uniform(600, 8, seed: 23);
        using var index = new HnswIndex<long>(8, capacity: 1);
        for (var i = 0; i < 600; i++) index.Add(i, rows.AsSpan(i * 8, 8));

        Assert.Equal(600, index.Count);
        Assert.True(index.Contains(599));
        Assert.Equal(599L, index.Search(Reference.Row(rows, 8, 599), 1)[0].Id);
        Assert.True(index.NativeMemoryBytes > 600 * 8 * sizeof(float));
        Assert.False(string.IsNullOrWhiteSpace(index.Acceleration));
    }
}
