namespace Federated.Vectors.Tests;

public sealed class ValidationTests
{
    private static IVectorIndex<long> Make(VectorIndexKind kind, VectorMetric metric = VectorMetric.InnerProduct) =>
        kind == VectorIndexKind.Exact ? new ExactIndex<long>(4, metric) : new HnswIndex<long>(4, metric);

    [Theory]
    [InlineData(VectorIndexKind.Exact)]
    [InlineData(VectorIndexKind.Hnsw)]
    public void A_vector_of_the_wrong_dimension_is_refused_naming_the_vector(VectorIndexKind kind)
    {
        using var index = Make(kind);
        var e = Assert.Throws<ArgumentException>(() => index.Add(1, [1f, 2f, 3f]));
        Assert.Equal("vector", e.ParamName);
        Assert.Contains("3 values", e.Message);
        Assert.Contains("dimension 4", e.Message);
        Assert.Equal(0, index.Count);
    }

    [Theory]
    [InlineData(VectorIndexKind.Exact, float.NaN)]
    [InlineData(VectorIndexKind.Exact, float.PositiveInfinity)]
    [InlineData(VectorIndexKind.Hnsw, float.NaN)]
    [InlineData(VectorIndexKind.Hnsw, float.NegativeInfinity)]
    public void A_non_finite_value_is_refused_naming_its_row_and_position(VectorIndexKind kind, float bad)
    {
        using var index = Make(kind);
        var rows = new float[] { 1, 2, 3, 4, 5, 6, bad, 8 };
        var e = Assert.Throws<ArgumentException>(() => index.AddRange([1L, 2L], rows));
        Assert.Equal("rows", e.ParamName);
        Assert.Contains("row 1", e.Message);
        Assert.Contains("position 2", e.Message);
        Assert.Equal(0, index.Count);
    }

    [Theory]
    [InlineData(VectorIndexKind.Exact)]
    [InlineData(VectorIndexKind.Hnsw)]
    public void A_query_with_nan_or_the_wrong_dimension_is_refused_naming_the_query(VectorIndexKind kind)
    {
        using var index = Make(kind);
        index.Add(1, [1f, 0f, 0f, 0f]);
        Assert.Equal("query", Assert.Throws<ArgumentException>(() => index.Search([1f, float.NaN, 0f, 0f], 1)).ParamName);
        Assert.Equal("query", Assert.Throws<ArgumentException>(() => index.Search([1f, 0f], 1)).ParamName);
        var batch = Assert.Throws<ArgumentException>(() => index.SearchBatch(new float[] { 1, 0, 0, 0, 1, 0, 0 }, 1));
        Assert.Equal("queries", batch.ParamName);
        Assert.Contains("not a whole number of rows", batch.Message);
    }

    [Theory]
    [InlineData(VectorIndexKind.Exact, 0)]
    [InlineData(VectorIndexKind.Exact, -3)]
    [InlineData(VectorIndexKind.Hnsw, 0)]
    [InlineData(VectorIndexKind.Hnsw, -1)]
    public void K_below_one_is_refused_naming_k(VectorIndexKind kind, int k)
    {
        using var index = Make(kind);
        index.Add(1, [1f, 0f, 0f, 0f]);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => index.Search([1f, 0f, 0f, 0f], k)).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => index.SearchBatch(new float[4], k)).ParamName);
    }

    [Theory]
    [InlineData(VectorIndexKind.Exact)]
    [InlineData(VectorIndexKind.Hnsw)]
    public void A_duplicate_id_is_refused_and_a_rejected_batch_adds_nothing(VectorIndexKind kind)
    {
        using var index = Make(kind);
        index.Add(7, [1f, 0f, 0f, 0f]);

        var existing = Assert.Throws<ArgumentException>(() => index.Add(7, [0f, 1f, 0f, 0f]));
        Assert.Equal("id", existing.ParamName);
        Assert.Contains("already in the index", existing.Message);

        var twice = Assert.Throws<ArgumentException>(() => index.AddRange([8L, 9L, 8L], new float[12]));
        Assert.Equal("ids", twice.ParamName);
        Assert.Contains("ids[2] (8) appears twice", twice.Message);

        Assert.Equal(1, index.Count);
        Assert.False(index.Contains(8));
        Assert.False(index.Contains(9));
    }

    [Theory]
    [InlineData(VectorIndexKind.Exact)]
    [InlineData(VectorIndexKind.Hnsw)]
    public void Ids_and_rows_of_different_counts_are_refused(VectorIndexKind kind)
    {
        using var index = Make(kind);
        var e = Assert.Throws<ArgumentException>(() => index.AddRange([1L, 2L, 3L], new float[8]));
        Assert.Equal("ids", e.ParamName);
        Assert.Contains("3 ids but rows holds 2 vectors", e.Message);
    }

    [Fact]
    public void An_empty_or_null_string_id_is_refused()
    {
        using var exact = new ExactIndex<string>(2);
        using var hnsw = new HnswIndex<string>(2);
        foreach (var index in new IVectorIndex<string>[] { exact, hnsw })
        {
            Assert.Contains("empty string", Assert.Throws<ArgumentException>(() => index.Add("", [1f, 0f])).Message);
            Assert.Equal("ids", Assert.Throws<ArgumentException>(() => index.AddRange(["a", null!], new float[4])).ParamName);
            Assert.Equal(0, index.Count);
        }
    }

    [Theory]
    [InlineData(VectorIndexKind.Exact)]
    [InlineData(VectorIndexKind.Hnsw)]
    public void A_zero_vector_is_refused_under_cosine_and_accepted_under_inner_product(VectorIndexKind kind)
    {
        using var cosine = Make(kind, VectorMetric.Cosine);
        Assert.Contains("all zeros", Assert.Throws<ArgumentException>(() => cosine.Add(1, new float[4])).Message);
        using var inner = Make(kind);
        inner.Add(1, new float[4]);
        Assert.Equal(0f, inner.Search([1f, 1f, 1f, 1f], 1).Single().Score);
    }

    [Fact]
    public void An_unknown_id_is_named_when_its_vector_is_asked_for()
    {
        using var index = new ExactIndex<string>(2);
        index.Add("known", [1f, 2f]);
        Assert.Contains("unknown-song", Assert.Throws<KeyNotFoundException>(() => index.GetVector("unknown-song")).Message);
    }

    [Fact]
    public void Settings_out_of_range_are_refused_naming_the_setting()
    {
        Assert.Equal("dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new ExactIndex<long>(0)).ParamName);
        Assert.Equal("dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new HnswIndex<long>(-2)).ParamName);
        Assert.Equal("Connectivity", Assert.Throws<ArgumentOutOfRangeException>(() => new HnswIndex<long>(4, options: new HnswOptions { Connectivity = 1 })).ParamName);
        Assert.Equal("ExpansionSearch", Assert.Throws<ArgumentOutOfRangeException>(() => new HnswIndex<long>(4, options: new HnswOptions { ExpansionSearch = 0 })).ParamName);
        Assert.Equal("Threads", Assert.Throws<ArgumentOutOfRangeException>(() => new HnswIndex<long>(4, options: new HnswOptions { Threads = 0 })).ParamName);
        using var index = new HnswIndex<long>(4);
        Assert.Equal("ExpansionSearch", Assert.Throws<ArgumentOutOfRangeException>(() => index.ExpansionSearch = 0).ParamName);
        Assert.Equal("threads", Assert.Throws<ArgumentOutOfRangeException>(() => index.SearchBatch(new float[4], 1, threads: -1)).ParamName);
        Assert.Equal("ExactBelow", Assert.Throws<ArgumentOutOfRangeException>(() => VectorIndexFactory.Create<long>(4, 10, policy: new VectorIndexPolicy { ExactBelow = -1 })).ParamName);
    }

    [Fact]
    public void Ids_other_than_long_or_string_are_not_supported()
    {
        Assert.Contains("long or string", Assert.Throws<NotSupportedException>(() => new ExactIndex<Guid>(4)).Message);
    }

    [Theory]
    [InlineData(VectorIndexKind.Exact)]
    [InlineData(VectorIndexKind.Hnsw)]
    public void A_disposed_index_refuses_every_call(VectorIndexKind kind)
    {
        var index = Make(kind);
        index.Add(1, [1f, 0f, 0f, 0f]);
        index.Dispose();
        index.Dispose();
        Assert.Throws<ObjectDisposedException>(() => index.Search([1f, 0f, 0f, 0f], 1));
        Assert.Throws<ObjectDisposedException>(() => index.Add(2, [1f, 0f, 0f, 0f]));
        Assert.Throws<ObjectDisposedException>(() => index.Count);
    }
}
