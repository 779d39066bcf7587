using System.Collections.Concurrent;
using Federated.Tests.Shared;

namespace Federated.Vectors.Tests;

public sealed class ConcurrencyTests : IDisposable
{
    private const int Dimension = 32, Items = 6000, Queries = 100;
    private readonly string _folder = Directory.CreateTempSubdirectory("vectors-concurrency-").FullName;
    private readonly float[] _rows;
    private readonly float[] _queries;
    private readonly long[] _ids = Enumerable.Range(0, Items).Select(i => (long)i).ToArray();

    public ConcurrencyTests()
    {
        var mixture = new SyntheticVectors(clusters: 30, Dimension, spread: 0.5, seed: 41);
        _rows = mixture.Sample(Items, seed: 42);
        _queries = mixture.Sample(Queries, seed: 43);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Runs <paramref name="work"/> on <paramref name="threads"/> dedicated threads released together.</summary>
    private static void OnThreads(int threads, Action<int> work)
    {
        using var start = new Barrier(threads);
        var failures = new ConcurrentQueue<Exception>();
        var running = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            try { work(t); }
            catch (Exception e) { failures.Enqueue(e); }
        })).ToArray();
        foreach (var thread in running) thread.Start();
        foreach (var thread in running) thread.Join();
        if (!failures.IsEmpty) throw new AggregateException(failures);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Eight_threads_searching_one_hnsw_file_get_the_single_thread_answers(bool view)
    {
        using (var built = new HnswIndex<long>(Dimension))
        {
            built.AddRange(_ids, _rows);
            built.Save(Path.Combine(_folder, "items.hnsw"));
        }
        // Eight search threads: more than this machine's cores, and more native contexts than USearch sets up by default.
        using var index = view
            ? HnswIndex<long>.View(Path.Combine(_folder, "items.hnsw"), threads: 8)
            : HnswIndex<long>.Load(Path.Combine(_folder, "items.hnsw"), threads: 8);
        var expected = Enumerable.Range(0, Queries).Select(q => index.Search(Reference.Row(_queries, Dimension, q), 20)).ToArray();

        OnThreads(8, t =>
        {
            for (var round = 0; round < 5; round++)
                for (int q = (t * 13) % Queries, n = 0; n < Queries; n++, q = (q + 1) % Queries)
                    Assert.Equal(expected[q], index.Search(Reference.Row(_queries, Dimension, q), 20));
        });
        Assert.Equal(expected, index.SearchBatch(_queries, 20, threads: 8));
    }

    [Theory]
    [InlineData(VectorIndexKind.Exact)]
    [InlineData(VectorIndexKind.Hnsw)]
    public void Searches_while_batches_are_added_only_ever_see_whole_batches(VectorIndexKind kind)
    {
        const int batch = 500;
        using IVectorIndex<long> index = kind == VectorIndexKind.Exact ? new ExactIndex<long>(Dimension) : new HnswIndex<long>(Dimension);
        index.AddRange(_ids[..batch], _rows.AsMemory(0, batch * Dimension));
        var done = 0;
        var searched = 0;

        OnThreads(4, t =>
        {
            if (t == 0)
            {
                for (var first = batch; first < Items; first += batch)
                    index.AddRange(_ids[first..(first + batch)], _rows.AsMemory(first * Dimension, batch * Dimension));
                Volatile.Write(ref done, 1);
                return;
            }
            var q = t;
            while (Volatile.Read(ref done) == 0 || Volatile.Read(ref searched) < 50)
            {
                var count = index.Count;
                Assert.Equal(0, count % batch);
                var hits = index.Search(Reference.Row(_queries, Dimension, q++ % Queries), 30);
                Assert.Equal(30, hits.Length);
                Assert.Equal(30, hits.Select(h => h.Id).Distinct().Count());
                Assert.All(hits, h => Assert.InRange(h.Id, 0, Items - 1));
                Assert.Equal(hits.OrderByDescending(h => h.Score).Select(h => h.Score), hits.Select(h => h.Score));
                Interlocked.Increment(ref searched);
            }
        });

        Assert.Equal(Items, index.Count);
        using var exact = new ExactIndex<long>(Dimension);
        exact.AddRange(_ids, _rows);
        Assert.True(Reference.Recall(index.SearchBatch(_queries, 10), exact.SearchBatch(_queries, 10), 10) >= 0.95);
    }

    [Fact]
    public void Disposing_while_threads_search_ends_their_searches_with_object_disposed()
    {
        var index = new HnswIndex<long>(Dimension, options: new HnswOptions { Threads = 4 });
        index.AddRange(_ids, _rows);
        var completed = 0;
        var refused = 0;

        OnThreads(4, t =>
        {
            if (t == 0)
            {
                while (Volatile.Read(ref completed) < 100) Thread.Yield();
                index.Dispose();
                return;
            }
            for (var q = 0; ; q++)
            {
                try { Assert.Equal(5, index.Search(Reference.Row(_queries, Dimension, q % Queries), 5).Length); }
                catch (ObjectDisposedException) { Interlocked.Increment(ref refused); return; }
                Interlocked.Increment(ref completed);
            }
        });

        Assert.Equal(3, refused);
    }
}
