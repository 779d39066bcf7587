using System.Runtime.InteropServices;
using Federated.Vectors.Internal;

namespace Federated.Vectors;

/// <summary>
/// Brute-force search over every stored vector with SIMD dot products: exact, O(count x dimension) per query. The
/// reference the approximate index is measured against, and the index of choice for small catalogues. Batch search
/// scores blocks of rows against groups of queries so a block is read from memory once per group.
/// </summary>
public sealed class ExactIndex<TKey> : IVectorIndex<TKey> where TKey : notnull
{
    private const int RowBlock = 512;
    private const int QueryGroup = 8;

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2213:Disposable fields should be disposed", Justification = "searches may still be leaving the lock when Dispose returns; a disposed lock would throw in them, and this lock holds no unmanaged resource")]
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly KeyMap<TKey> _keys;
    private float[] _rows;
    private int _count;
    private bool _disposed;

    public ExactIndex(int dimension, VectorMetric metric = VectorMetric.InnerProduct, int capacity = 0, int searchThreads = 0)
    {
        VectorChecks.Dimension(dimension);
        if (!Enum.IsDefined(metric)) throw new ArgumentOutOfRangeException(nameof(metric), metric, "unknown metric");
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        ArgumentOutOfRangeException.ThrowIfNegative(searchThreads);
        Dimension = dimension;
        Metric = metric;
        SearchThreads = searchThreads == 0 ? Environment.ProcessorCount : searchThreads;
        _keys = new KeyMap<TKey>(capacity);
        _rows = new float[checked((long)capacity * dimension)];
    }

    private ExactIndex(int dimension, VectorMetric metric, KeyMap<TKey> keys, float[] rows, int searchThreads)
    {
        Dimension = dimension;
        Metric = metric;
        SearchThreads = searchThreads > 0 ? searchThreads : Environment.ProcessorCount;
        _keys = keys;
        _rows = rows;
        _count = keys.Count;
    }

    public VectorIndexKind Kind => VectorIndexKind.Exact;
    public VectorMetric Metric { get; }
    public int Dimension { get; }
    public bool IsReadOnly => false;

    /// <summary>Threads a batch search uses when the call does not say.</summary>
    public int SearchThreads { get; }

    public int Count
    {
        get
        {
            EnterRead();
            try { return _count; }
            finally { _lock.ExitReadLock(); }
        }
    }

    public void Add(TKey id, ReadOnlySpan<float> vector)
    {
        VectorChecks.Vector(vector, Dimension, Metric, nameof(vector));
        EnterWrite();
        try
        {
            _keys.CheckNew(id, nameof(id));
            Grow(_count + 1);
            VectorChecks.Prepare(vector, _rows.AsSpan(_count * Dimension, Dimension), Metric);
            _keys.Append(id);
            _count++;
        }
        finally { _lock.ExitWriteLock(); }
    }

    public void AddRange(IReadOnlyList<TKey> ids, ReadOnlyMemory<float> rows)
    {
        var count = VectorChecks.Batch(ids, rows.Span, Dimension, Metric);
        EnterWrite();
        try
        {
            _keys.CheckNew(ids, nameof(ids));
            Grow(_count + count);
            var source = rows.Span;
            for (var i = 0; i < count; i++)
            {
                VectorChecks.Prepare(source.Slice(i * Dimension, Dimension), _rows.AsSpan((_count + i) * Dimension, Dimension), Metric);
                _keys.Append(ids[i]);
            }
            _count += count;
        }
        finally { _lock.ExitWriteLock(); }
    }

    public bool Contains(TKey id)
    {
        EnterRead();
        try { return _keys.Contains(id); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The stored vector of <paramref name="id"/> (unit length under cosine); an unknown id throws.</summary>
    public float[] GetVector(TKey id)
    {
        EnterRead();
        try
        {
            if (id is null || !_keys.TryGetOrdinal(id, out var ordinal))
                throw new KeyNotFoundException($"id {id} is not in the index");
            return _rows.AsSpan(ordinal * Dimension, Dimension).ToArray();
        }
        finally { _lock.ExitReadLock(); }
    }

    public VectorHit<TKey>[] Search(ReadOnlySpan<float> query, int k)
    {
        VectorChecks.K(k);
        VectorChecks.Vector(query, Dimension, Metric, nameof(query));
        var prepared = new float[Dimension];
        VectorChecks.Prepare(query, prepared, Metric);
        EnterRead();
        try
        {
            if (_count == 0) return [];
            var top = new TopK(Math.Min(k, _count));
            var scores = new float[RowBlock];
            ScanInto(prepared, top, scores);
            return Hits(top);
        }
        finally { _lock.ExitReadLock(); }
    }

    public VectorHit<TKey>[][] SearchBatch(ReadOnlyMemory<float> queries, int k, int threads = 0)
    {
        VectorChecks.K(k);
        var workers = VectorChecks.Threads(threads, SearchThreads);
        var count = VectorChecks.Rows(queries.Span, Dimension, Metric, nameof(queries));
        var prepared = new float[queries.Length];
        for (var i = 0; i < count; i++)
            VectorChecks.Prepare(queries.Span.Slice(i * Dimension, Dimension), prepared.AsSpan(i * Dimension, Dimension), Metric);
        var results = new VectorHit<TKey>[count][];
        var groups = (count + QueryGroup - 1) / QueryGroup;
        Parallel.For(0, groups, new ParallelOptions { MaxDegreeOfParallelism = workers }, group =>
        {
            EnterRead();
            try
            {
                var first = group * QueryGroup;
                var size = Math.Min(QueryGroup, count - first);
                if (_count == 0)
                {
                    for (var q = 0; q < size; q++) results[first + q] = [];
                    return;
                }
                var tops = new TopK[size];
                for (var q = 0; q < size; q++) tops[q] = new TopK(Math.Min(k, _count));
                var scores = new float[RowBlock];
                var dimension = Dimension;
                for (var start = 0; start < _count; start += RowBlock)
                {
                    var rows = Math.Min(RowBlock, _count - start);
                    var block = _rows.AsSpan(start * dimension, rows * dimension);
                    for (var q = 0; q < size; q++)
                    {
                        DotKernel.Score(block, dimension, prepared.AsSpan((first + q) * dimension, dimension), scores.AsSpan(0, rows));
                        Offer(tops[q], scores.AsSpan(0, rows), start);
                    }
                }
                for (var q = 0; q < size; q++) results[first + q] = Hits(tops[q]);
            }
            finally { _lock.ExitReadLock(); }
        });
        return results;
    }

    public void Save(string path)
    {
        EnterRead();
        try
        {
            var header = new IndexFile { Kind = Kind, Metric = Metric, Dimension = Dimension, Count = _count, KeyKind = _keys.KeyKind };
            var payload = MemoryMarshal.AsBytes(_rows.AsSpan(0, _count * Dimension)).Length;
            IndexFileIo.Write(path, header, _keys, payload, (stream, offset) =>
            {
                stream.Position = offset;
                stream.Write(MemoryMarshal.AsBytes(_rows.AsSpan(0, _count * Dimension)));
            });
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Reads an index written by <see cref="Save"/>.</summary>
    public static ExactIndex<TKey> Load(string path, int searchThreads = 0)
    {
        var (header, keys, stream) = IndexFileIo.Open<TKey>(path, VectorIndexKind.Exact);
        using (stream)
        {
            var values = checked(header.Count * header.Dimension);
            if (header.PayloadLength != values * sizeof(float))
                throw new VectorIndexException($"{path}: {header.Count} vectors of dimension {header.Dimension} need {values * sizeof(float)} bytes, the file holds {header.PayloadLength}; the file is damaged");
            var rows = new float[values];
            stream.Position = header.PayloadOffset;
            stream.ReadExactly(MemoryMarshal.AsBytes(rows.AsSpan()));
            for (long i = 0; i < values; i++)
                if (!float.IsFinite(rows[i]))
                    throw new VectorIndexException($"{path}: vector {i / header.Dimension} has a non-finite value; the file is damaged");
            return new ExactIndex<TKey>(header.Dimension, header.Metric, keys, rows, searchThreads);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _lock.EnterWriteLock();
        try
        {
            _disposed = true;
            _rows = [];
        }
        finally { _lock.ExitWriteLock(); }
    }

    private void ScanInto(float[] query, TopK top, float[] scores)
    {
        for (var start = 0; start < _count; start += RowBlock)
        {
            var rows = Math.Min(RowBlock, _count - start);
            DotKernel.Score(_rows.AsSpan(start * Dimension, rows * Dimension), Dimension, query, scores.AsSpan(0, rows));
            Offer(top, scores.AsSpan(0, rows), start);
        }
    }

    private static void Offer(TopK top, ReadOnlySpan<float> scores, int firstOrdinal)
    {
        var threshold = top.Threshold;
        for (var i = 0; i < scores.Length; i++)
            if (scores[i] >= threshold)
            {
                top.Offer(scores[i], firstOrdinal + i);
                threshold = top.Threshold;
            }
    }

    private VectorHit<TKey>[] Hits(TopK top)
    {
        var drained = top.Drain();
        var hits = new VectorHit<TKey>[drained.Length];
        for (var i = 0; i < drained.Length; i++)
            hits[i] = new VectorHit<TKey>(_keys[drained[i].Ordinal], drained[i].Score);
        return hits;
    }

    private void Grow(int needed)
    {
        if ((long)needed * Dimension <= _rows.Length) return;
        var most = Array.MaxLength / Dimension;
        if (needed > most)
            throw new InvalidOperationException($"an exact index of dimension {Dimension} holds at most {most} vectors; {needed} were asked for");
        var capacity = (int)Math.Min(most, Math.Max(needed, Math.Max(1024L, _rows.Length / Dimension * 2L)));
        var grown = new float[checked((long)capacity * Dimension)];
        _rows.AsSpan(0, _count * Dimension).CopyTo(grown);
        _rows = grown;
    }

    private void EnterRead()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lock.EnterReadLock();
        if (_disposed)
        {
            _lock.ExitReadLock();
            throw new ObjectDisposedException(GetType().Name);
        }
    }

    private void EnterWrite()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lock.EnterWriteLock();
        if (_disposed)
        {
            _lock.ExitWriteLock();
            throw new ObjectDisposedException(GetType().Name);
        }
    }
}
