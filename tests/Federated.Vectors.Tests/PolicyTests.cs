using Federated.Tests.Shared;

namespace Federated.Vectors.Tests;

public sealed class PolicyTests
{
    [Theory]
    [InlineData(0, VectorIndexKind.Exact)]
    [InlineData(19_999, VectorIndexKind.Exact)]
    [InlineData(20_000, VectorIndexKind.Hnsw)]
    [InlineData(5_000_000, VectorIndexKind.Hnsw)]
    public void The_default_policy_searches_exactly_below_20000_items(int count, VectorIndexKind expected)
    {
        Assert.Equal(expected, VectorIndexPolicy.Default.Choose(count));
    }

    [Fact]
    public void The_factory_builds_the_kind_the_policy_picks_with_its_settings()
    {
        var rows = SyntheticVectors.Uniform(300, 8, seed: 51);
        var ids = Enumerable.Range(0, 300).Select(i => (long)i).ToArray();
        var settings = new HnswOptions { Connectivity = 8, ExpansionAdd = 40, ExpansionSearch = 50, Threads = 1 };

        using var small = VectorIndexFactory.Build(8, ids, rows, VectorMetric.Cosine, new VectorIndexPolicy { ExactBelow = 301, Hnsw = settings });
        using var large = VectorIndexFactory.Build(8, ids, rows, VectorMetric.Cosine, new VectorIndexPolicy { ExactBelow = 300, Hnsw = settings });

        Assert.IsType<ExactIndex<long>>(small);
        var hnsw = Assert.IsType<HnswIndex<long>>(large);
        Assert.Equal(settings, hnsw.Options);
        Assert.Equal(50, hnsw.ExpansionSearch);
        Assert.Equal((300, VectorMetric.Cosine), (large.Count, large.Metric));
        Assert.Equal(small.Search(Reference.Row(rows, 8, 17), 1)[0].Id, large.Search(Reference.Row(rows, 8, 17), 1)[0].Id);
    }

    [Fact]
    public void A_build_that_fails_its_checks_throws_and_returns_nothing()
    {
        var rows = new float[16];
        rows[5] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => VectorIndexFactory.Build(8, [1L, 2L], rows));
        Assert.Equal("rows", e.ParamName);
    }
}
