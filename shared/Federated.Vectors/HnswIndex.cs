using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Federated.Vectors.Internal;
using Federated.Vectors.Native;

namespace Federated.Vectors;

/// <summary>
/// Approximate top-K search on an HNSW graph built by USearch (native, float32, inner product; cosine stores unit
/// vectors). The graph returns candidates; each result's score is then recomputed as the exact dot product of the
/// query and the stored vector, so scores equal the exact index's for the same item. Batch adds insert on
/// <see cref="HnswOptions.Threads"/> threads. Saved as one file; <see cref="View"/> searches it in place from a
/// memory map without reading it into memory.
/// </summary>
public sealed unsafe class HnswIndex<TKey> : IVectorIndex<TKey> where TKey : notnull
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2213:Disposable fields should be disposed", Justification = "searches may still be leaving the lock when Dispose returns; a disposed lock would throw in them, and this lock holds no unmanaged resource")]
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly KeyMap<TKey> _keys;
    private readonly USearchHandle _native;
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2213:Disposable fields should be disposed", Justification = "searches may still be leaving the lock when Dispose returns; a disposed lock would throw in them, and this semaphore (no wait handle taken) holds no unmanaged resource")]
    private readonly SemaphoreSlim _contexts;
    private readonly int _contextCount;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private int _capacity;
    private int _expansionSearch;
    private bool _faulted;
    private bool _disposed;

    public HnswIndex(int dimension, VectorMetric metric = VectorMetric.InnerProduct, HnswOptions? options = null, int capacity = 0)
    {
        VectorChecks.Dimension(dimension);
        if (!Enum.IsDefined(metric)) throw new ArgumentOutOfRangeException(nameof(metric), metric, "unknown metric");
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        options ??= HnswOptions.Default;
        options.Validate();
        Dimension = dimension;
        Metric = metric;
        Options = options;
        _expansionSearch = options.ExpansionSearch;
        _keys = new KeyMap<TKey>(capacity);
        _contextCount = Math.Max(options.Threads, Environment.ProcessorCount);
        _contexts = new SemaphoreSlim(_contextCount, _contextCount);
        _native = USearchHandle.Create(dimension, options);
        try { Reserve(Math.Max(capacity, 64)); }
        catch { _native.Dispose(); throw; }
    }

    private HnswIndex(IndexFile header, KeyMap<TKey> keys, HnswOptions options)
    {
        Dimension = header.Dimension;
        Metric = header.Metric;
        Options = options;
        _expansionSearch = options.ExpansionSearch;
        _keys = keys;
        _contextCount = Math.Max(options.Threads, Environment.ProcessorCount);
        _contexts = new SemaphoreSlim(_contextCount, _contextCount);
        _native = USearchHandle.Create(header.Dimension, options);
    }

    public VectorIndexKind Kind => VectorIndexKind.Hnsw;
    public VectorMetric Metric { get; }
    public int Dimension { get; }

    /// <summary>The settings the index was built or opened with (<see cref="ExpansionSearch"/> holds the current ef).</summary>
    public HnswOptions Options { get; }

    public bool IsReadOnly => _map is not null;

    public int Count
    {
        get
        {
            EnterRead();
            try { return _keys.Count; }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>Candidates explored per query (ef); changing it waits for running searches.</summary>
    public int ExpansionSearch
    {
        get => Volatile.Read(ref _expansionSearch);
        set
        {
            if (value is < 1 or > 1 << 16)
                throw new ArgumentOutOfRangeException(nameof(ExpansionSearch), value, "HNSW expansion_search must be between 1 and 65536");
            EnterWrite();
            try
            {
                USearchNative.ChangeExpansionSearch(Handle, (nuint)value, out var error);
                USearchNative.Check(error, "setting expansion_search");
                Volatile.Write(ref _expansionSearch, value);
            }
            finally { _lock.ExitWriteLock(); }
        }
    }

    /// <summary>Bytes the native index holds in memory (graph and, unless viewed, vectors).</summary>
    public long NativeMemoryBytes
    {
        get
        {
            EnterRead();
            try
            {
                var bytes = USearchNative.MemoryUsage(Handle, out var error);
                USearchNative.Check(error, "memory usage");
                return (long)bytes;
            }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>The SIMD kernel USearch picked on this CPU (for example "haswell"), and its version.</summary>
    public string Acceleration
    {
        get
        {
            EnterRead();
            try
            {
                var name = USearchNative.HardwareAcceleration(Handle, out var error);
                USearchNative.Check(error, "hardware acceleration");
                return $"{Marshal.PtrToStringUTF8((nint)name)} (USearch {USearchNative.LoadedVersion()})";
            }
            finally { _lock.ExitReadLock(); }
        }
    }

    private nint Handle => _native.DangerousGetHandle();

    public void Add(TKey id, ReadOnlySpan<float> vector)
    {
        VectorChecks.Vector(vector, Dimension, Metric, nameof(vector));
        var prepared = new float[Dimension];
        VectorChecks.Prepare(vector, prepared, Metric);
        EnterWrite();
        try
        {
            CheckWritable();
            _keys.CheckNew(id, nameof(id));
            var ordinal = _keys.Count;
            if (ordinal + 1 > _capacity) Reserve(Math.Max(ordinal + 1, _capacity * 2));
            fixed (float* p = prepared)
            {
                USearchNative.Add(Handle, (ulong)ordinal, p, USearchNative.ScalarFloat32, out var error);
                USearchNative.Check(error, $"add of {id}");
            }
            _keys.Append(id);
        }
        finally { _lock.ExitWriteLock(); }
    }

    public void AddRange(IReadOnlyList<TKey> ids, ReadOnlyMemory<float> rows)
    {
        var count = VectorChecks.Batch(ids, rows.Span, Dimension, Metric);
        if (count == 0) return;
        EnterWrite();
        try
        {
            CheckWritable();
            _keys.CheckNew(ids, nameof(ids));
            var first = _keys.Count;
            if (first + count > _capacity) Reserve(Math.Max(first + count, _capacity + _capacity / 2));
            var dimension = Dimension;
            var metric = Metric;
            var handle = Handle;
            string? failure = null;
            // No search runs while the write lock is held, so at most Threads of the native contexts are in use.
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Options.Threads }, () => new float[dimension], (i, state, buffer) =>
            {
                VectorChecks.Prepare(rows.Span.Slice(i * dimension, dimension), buffer, metric);
                fixed (float* p = buffer)
                {
                    USearchNative.Add(handle, (ulong)(first + i), p, USearchNative.ScalarFloat32, out var error);
                    if (error != 0)
                    {
                        Interlocked.CompareExchange(ref failure, $"add of {ids[i]}: {Marshal.PtrToStringUTF8(error)}", null);
                        state.Stop();
                    }
                }
                return buffer;
            }, _ => { });
            if (failure is not null)
            {
                // Some vectors of the batch are in the graph and some not: the index no longer matches its ids.
                _faulted = true;
                throw new VectorIndexException($"USearch {failure}; the index is unusable, build it again");
            }
            for (var i = 0; i < count; i++) _keys.Append(ids[i]);
        }
        finally { _lock.ExitWriteLock(); }
    }

    public bool Contains(TKey id)
    {
        EnterRead();
        try { return _keys.Contains(id); }
        finally { _lock.ExitReadLock(); }
    }

    public VectorHit<TKey>[] Search(ReadOnlySpan<float> query, int k)
    {
        VectorChecks.K(k);
        VectorChecks.Vector(query, Dimension, Metric, nameof(query));
        var scratch = new Scratch(Dimension, k);
        VectorChecks.Prepare(query, scratch.Query, Metric);
        EnterRead();
        try { return SearchPrepared(scratch, k); }
        finally { _lock.ExitReadLock(); }
    }

    public VectorHit<TKey>[][] SearchBatch(ReadOnlyMemory<float> queries, int k, int threads = 0)
    {
        VectorChecks.K(k);
        var workers = VectorChecks.Threads(threads, Options.Threads);
        var count = VectorChecks.Rows(queries.Span, Dimension, Metric, nameof(queries));
        var results = new VectorHit<TKey>[count][];
        var dimension = Dimension;
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = workers }, () => new Scratch(dimension, k), (i, _, scratch) =>
        {
            VectorChecks.Prepare(queries.Span.Slice(i * dimension, dimension), scratch.Query, Metric);
            EnterRead();
            try { results[i] = SearchPrepared(scratch, k); }
            finally { _lock.ExitReadLock(); }
            return scratch;
        }, _ => { });
        return results;
    }

    /// <summary>Graph search, then the exact dot product for each candidate; under the read lock.</summary>
    private VectorHit<TKey>[] SearchPrepared(Scratch scratch, int k)
    {
        var wanted = Math.Min(k, _keys.Count);
        if (wanted == 0) return [];
        int found;
        _contexts.Wait();
        try
        {
            fixed (float* query = scratch.Query)
            fixed (ulong* keys = scratch.Keys)
            fixed (float* distances = scratch.Distances)
            fixed (float* stored = scratch.Stored)
            {
                found = (int)USearchNative.Search(Handle, query, USearchNative.ScalarFloat32, (nuint)wanted, keys, distances, out var error);
                USearchNative.Check(error, "search");
                for (var i = 0; i < found; i++)
                {
                    var got = USearchNative.Get(Handle, keys[i], 1, stored, USearchNative.ScalarFloat32, out error);
                    USearchNative.Check(error, "vector lookup");
                    if (got != 1 || keys[i] >= (ulong)_keys.Count)
                        throw new VectorIndexException($"USearch returned key {keys[i]}, which the index does not hold");
                    scratch.Distances[i] = System.Numerics.Tensors.TensorPrimitives.Dot(scratch.Stored, scratch.Query);
                }
            }
        }
        finally { _contexts.Release(); }
        var hits = new (float Score, int Ordinal)[found];
        for (var i = 0; i < found; i++) hits[i] = (scratch.Distances[i], (int)scratch.Keys[i]);
        Array.Sort(hits, static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Ordinal.CompareTo(b.Ordinal));
        var result = new VectorHit<TKey>[found];
        for (var i = 0; i < found; i++) result[i] = new VectorHit<TKey>(_keys[hits[i].Ordinal], hits[i].Score);
        return result;
    }

    public void Save(string path)
    {
        EnterRead();
        try
        {
            var length = (long)USearchNative.SerializedLength(Handle, out var error);
            USearchNative.Check(error, "serialized length");
            var header = new IndexFile
            {
                Kind = Kind, Metric = Metric, Dimension = Dimension, Count = _keys.Count, KeyKind = _keys.KeyKind,
                Connectivity = Options.Connectivity, ExpansionAdd = Options.ExpansionAdd, ExpansionSearch = ExpansionSearch,
            };
            IndexFileIo.Write(path, header, _keys, length, (stream, offset) =>
            {
                using var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
                using var view = map.CreateViewAccessor(offset, length, MemoryMappedFileAccess.ReadWrite);
                byte* pointer = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                try
                {
                    USearchNative.SaveBuffer(Handle, pointer + view.PointerOffset, (nuint)length, out var saveError);
                    USearchNative.Check(saveError, $"save to {path}");
                    view.Flush();
                }
                finally { view.SafeMemoryMappedViewHandle.ReleasePointer(); }
            });
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Reads a saved index into memory (it can be extended). <paramref name="expansionSearch"/> overrides the saved ef.</summary>
    public static HnswIndex<TKey> Load(string path, int threads = 0, int expansionSearch = 0) => Open(path, view: false, threads, expansionSearch);

    /// <summary>
    /// Searches a saved index in place from a read-only memory map: opening reads only the ids, the operating system
    /// pages graph and vectors in as searches touch them, and processes viewing one file share its pages. Read-only.
    /// </summary>
    public static HnswIndex<TKey> View(string path, int threads = 0, int expansionSearch = 0) => Open(path, view: true, threads, expansionSearch);

    private static HnswIndex<TKey> Open(string path, bool view, int threads, int expansionSearch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        ArgumentOutOfRangeException.ThrowIfNegative(expansionSearch);
        var (header, keys, stream) = IndexFileIo.Open<TKey>(path, VectorIndexKind.Hnsw);
        HnswIndex<TKey>? index = null;
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? accessor = null;
        try
        {
            var options = new HnswOptions
            {
                Connectivity = header.Connectivity,
                ExpansionAdd = header.ExpansionAdd,
                ExpansionSearch = expansionSearch > 0 ? expansionSearch : header.ExpansionSearch,
                Threads = threads > 0 ? threads : HnswOptions.Default.Threads,
            };
            options.Validate();
            index = new HnswIndex<TKey>(header, keys, options);
            if (header.PayloadLength == 0)
                throw new VectorIndexException($"{path} has no graph payload; the file is damaged");
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            stream = null!;
            accessor = map.CreateViewAccessor(header.PayloadOffset, header.PayloadLength, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            accessor.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            var released = false;
            try
            {
                var start = pointer + accessor.PointerOffset;
                nint error;
                if (view) USearchNative.ViewBuffer(index.Handle, start, (nuint)header.PayloadLength, out error);
                else USearchNative.LoadBuffer(index.Handle, start, (nuint)header.PayloadLength, out error);
                USearchNative.Check(error, $"{(view ? "view" : "load")} of {path}");
                index.CheckOpened(header, path);
                if (view)
                {
                    // The native index reads from the mapping from now on: it stays acquired until Dispose.
                    index._map = map;
                    index._view = accessor;
                    map = null;
                    accessor = null;
                    released = true;
                }
            }
            finally
            {
                if (!released) accessor?.SafeMemoryMappedViewHandle.ReleasePointer();
            }
            index._capacity = keys.Count;
            index.SetContexts();
            USearchNative.ChangeExpansionSearch(index.Handle, (nuint)options.ExpansionSearch, out var efError);
            USearchNative.Check(efError, "setting expansion_search");
            return index;
        }
        catch
        {
            index?.Dispose();
            throw;
        }
        finally
        {
            accessor?.Dispose();
            map?.Dispose();
            stream?.Dispose();
        }
    }

    private void CheckOpened(IndexFile header, string path)
    {
        var size = (long)USearchNative.Size(Handle, out var error);
        USearchNative.Check(error, "size");
        var dimensions = (long)USearchNative.Dimensions(Handle, out error);
        USearchNative.Check(error, "dimensions");
        if (size != header.Count || dimensions != header.Dimension)
            throw new VectorIndexException($"{path}: the graph holds {size} vectors of dimension {dimensions}, the header says {header.Count} of dimension {header.Dimension}; the file is damaged");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _lock.EnterWriteLock();
        try
        {
            if (_disposed) return;
            _disposed = true;
            _native.Dispose();
            if (_view is not null)
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _view.Dispose();
            }
            _map?.Dispose();
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>Grows the native capacity (under the write lock) and restores the thread contexts it resets.</summary>
    private void Reserve(int capacity)
    {
        USearchNative.Reserve(Handle, (nuint)capacity, out var error);
        USearchNative.Check(error, $"reserve of {capacity} vectors");
        _capacity = capacity;
        SetContexts();
    }

    private void SetContexts()
    {
        USearchNative.ChangeThreadsAdd(Handle, (nuint)_contextCount, out var error);
        USearchNative.Check(error, "thread contexts for adds");
        USearchNative.ChangeThreadsSearch(Handle, (nuint)_contextCount, out error);
        USearchNative.Check(error, "thread contexts for searches");
    }

    private void CheckWritable()
    {
        if (IsReadOnly)
            throw new InvalidOperationException("this index is a read-only view of a file; open it with Load to add vectors");
    }

    private void EnterRead()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lock.EnterReadLock();
        if (_disposed || _faulted)
        {
            _lock.ExitReadLock();
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException("a batch add failed inside the native index; the index is unusable, build it again");
        }
    }

    private void EnterWrite()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lock.EnterWriteLock();
        if (_disposed || _faulted)
        {
            _lock.ExitWriteLock();
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException("a batch add failed inside the native index; the index is unusable, build it again");
        }
    }

    /// <summary>Per-thread buffers of one search.</summary>
    private sealed class Scratch(int dimension, int k)
    {
        public readonly float[] Query = new float[dimension];
        public readonly float[] Stored = new float[dimension];
        public readonly ulong[] Keys = new ulong[k];
        public readonly float[] Distances = new float[k];
    }
}
