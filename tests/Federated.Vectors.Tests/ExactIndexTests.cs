using Federated.Tests.Shared;

namespace Federated.Vectors.Tests;

public sealed class ExactIndexTests
{
    private const int Dimension = 24;

    [Theory]
    [InlineData(VectorMetric.InnerProduct)]
    [InlineData(VectorMetric.Cosine)]
    public void Top_k_equals_a_double_precision_brute_force_reference(VectorMetric metric)
    {
        // Unscaled Gaussian rows: lengths vary, so inner product and cosine rank differently.
        var rows = SyntheticVectors.Gaussian(700, Dimension, seed: 1);
        var queries = SyntheticVectors.Gaussian(25, Dimension, seed: 2);
        using var index = new ExactIndex<long>(Dimension, metric);
        index.AddRange(Enumerable.Range(0, 700).Select(i => (long)i).ToArray(), rows);

        for (var q = 0; q < 25; q++)
        {
            var query = Reference.Row(queries, Dimension, q);
            var expected = Reference.TopK(rows, Dimension, query, 15, metric);
            var hits = index.Search(query, 15);
            Assert.Equal(expected.Select(e => (long)e.Row), hits.Select(h => h.Id));
            for (var i = 0; i < hits.Length; i++)
                Assert.Equal(expected[i].Score, hits[i].Score, 1e-4);
        }
    }

    [Fact]
    public void Inner_product_and_cosine_rank_the_same_data_differently()
    {
        var rows = SyntheticVectors.Gaussian(400, Dimension, seed: 3);
        var query = SyntheticVectors.Gaussian(1, Dimension, seed: 4);
        var ids = Enumerable.Range(0, 400).Select(i => (long)i).ToArray();
        using var ip = new ExactIndex<long>(Dimension, VectorMetric.InnerProduct);
        using var cos = new ExactIndex<long>(Dimension, VectorMetric.Cosine);
        ip.AddRange(ids, rows);
        cos.AddRange(ids, rows);

        var byIp = ip.Search(query, 10).Select(h => h.Id).ToArray();
        var byCos = cos.Search(query, 10).Select(h => h.Id).ToArray();
        Assert.NotEqual(byIp, byCos);
        Assert.All(cos.Search(query, 10), h => Assert.InRange(h.Score, -1.0001f, 1.0001f));
    }

    [Fact]
    public void Batch_search_on_two_threads_returns_the_single_query_answers()
    {
        var rows = SyntheticVectors.Gaussian(3000, Dimension, seed: 5);
        var queries = SyntheticVectors.Gaussian(37, Dimension, seed: 6);
        using var index = new ExactIndex<long>(Dimension);
        index.AddRange(Enumerable.Range(0, 3000).Select(i => (long)i).ToArray(), rows);

        var batch = index.SearchBatch(queries, 20, threads: 2);
        Assert.Equal(37, batch.Length);
        for (var q = 0; q < 37; q++)
            Assert.Equal(index.Search(Reference.Row(queries, Dimension, q), 20), batch[q]);
    }

    [Fact]
    public void K_above_the_count_returns_every_item_best_first()
    {
        using var index = new ExactIndex<string>(3);
        index.Add("low", [0.1f, 0f, 0f]);
        index.Add("high", [1f, 0f, 0f]);
        index.Add("middle", [0.5f, 0f, 0f]);

        var hits = index.Search([1f, 0f, 0f], 10);

        Assert.Equal(["high", "middle", "low"], hits.Select(h => h.Id));
        Assert.Equal([1f, 0.5f, 0.1f], hits.Select(h => h.Score));
    }

    [Fact]
    public void Equal_scores_rank_the_earlier_added_item_first()
    {
        using var index = new ExactIndex<long>(2);
        index.AddRange([30L, 10L, 20L], new float[] { 1, 0, 1, 0, 1, 0 });

        Assert.Equal([30L, 10L], index.Search([1f, 0f], 2).Select(h => h.Id));
    }

    [Fact]
    public void An_empty_index_returns_no_hits()
    {
        using var index = new ExactIndex<long>(4);
        Assert.Empty(index.Search([1f, 2f, 3f, 4f], 5));
        Assert.All(index.SearchBatch(new float[8], 5), Assert.Empty);
    }

    [Fact]
    public void Single_adds_grow_the_index_past_its_initial_capacity()
    {
        // Unit vectors: each is its own best match under the inner product.
        var rows = SyntheticVectors.Uniform(2500, 8, seed: 7);
        using var index = new ExactIndex<long>(8, capacity: 2);
        for (var i = 0; i < 2500; i++) index.Add(i, rows.AsSpan(i * 8, 8));

        Assert.Equal(2500, index.Count);
        Assert.Equal(Reference.Row(rows, 8, 2499), index.GetVector(2499));
        Assert.Equal(2499L, index.Search(Reference.Row(rows, 8, 2499), 1)[0].Id);
    }
}
