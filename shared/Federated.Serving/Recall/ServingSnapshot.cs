using Federated.Serving.Publication;
using Federated.Vectors;

namespace Federated.Serving.Recall;

/// <summary>
/// One model version ready to answer: its embedding set and the search indexes over its song and user vectors. Built
/// once per version (the index files are kept beside the set and reopened when they are there); shared by every query
/// on that version and disposed only when the last query holding it has finished (<see cref="Lease"/>).
/// </summary>
public sealed class ServingSnapshot
{
    internal const string ItemIndexFile = "items.index", UserIndexFile = "users.index";

    private int _holders = 1; // the engine's own reference
    private int _disposed;

    private readonly DateTime _manifestWritten;

    private ServingSnapshot(EmbeddingSet set, IVectorIndex<string> items, IVectorIndex<string> users)
    {
        _manifestWritten = ManifestWritten(set.Folder);
        Set = set;
        Items = items;
        Users = users;
    }

    public EmbeddingSet Set { get; }
    public string Version => Set.Manifest.Version;
    public IVectorIndex<string> Items { get; }
    public IVectorIndex<string> Users { get; }

    /// <summary>Opens the indexes beside <paramref name="set"/>, or builds and saves them (inner product: the vectors are the model's).</summary>
    public static ServingSnapshot Open(EmbeddingSet set, VectorIndexPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(set);
        var items = OpenOrBuild(Path.Combine(set.Folder, ItemIndexFile), set.ItemKeysInOrder, set.ItemMatrix, set.Dimensions, policy);
        try
        {
            var users = OpenOrBuild(Path.Combine(set.Folder, UserIndexFile), set.UserKeysInOrder, set.UserMatrix, set.Dimensions, policy);
            return new ServingSnapshot(set, items, users);
        }
        catch
        {
            items.Dispose();
            throw;
        }
    }

    private static IVectorIndex<string> OpenOrBuild(string path, IReadOnlyList<string> keys, ReadOnlyMemory<float> rows, int dimensions, VectorIndexPolicy policy)
    {
        if (File.Exists(path))
        {
            try
            {
                var loaded = VectorIndexFactory.Load<string>(path, view: false, threads: policy.Hnsw.Threads);
                if (loaded.Count == keys.Count && loaded.Dimension == dimensions && loaded.Metric == VectorMetric.InnerProduct) return loaded;
                loaded.Dispose();
            }
            catch (VectorIndexException) { /* a damaged or foreign file: rebuild it below */ }
        }
        var index = VectorIndexFactory.Build(dimensions, keys, rows, VectorMetric.InnerProduct, policy);
        try { index.Save(path); }
        catch (IOException) { /* a read-only folder serves from memory */ }
        catch (UnauthorizedAccessException) { }
        return index;
    }

    /// <summary>False when the version's folder no longer holds the set this snapshot was opened from (the store was deleted and published anew).</summary>
    internal bool StillOnDisk => ManifestWritten(Set.Folder) == _manifestWritten;

    private static DateTime ManifestWritten(string folder) => File.GetLastWriteTimeUtc(Path.Combine(folder, EmbeddingSet.ManifestFile));

    /// <summary>Holds the snapshot for one query; null when it has been retired and released already.</summary>
    internal Lease? TryAcquire()
    {
        while (true)
        {
            var holders = Volatile.Read(ref _holders);
            if (holders == 0) return null;
            if (Interlocked.CompareExchange(ref _holders, holders + 1, holders) == holders) return new Lease(this);
        }
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0 && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Items.Dispose();
            Users.Dispose();
        }
    }

    /// <summary>A query's hold on a snapshot; disposing it lets a retired snapshot go.</summary>
    public sealed class Lease : IDisposable
    {
        private ServingSnapshot? _snapshot;

        internal Lease(ServingSnapshot snapshot) => _snapshot = snapshot;

        public ServingSnapshot Snapshot => _snapshot ?? throw new ObjectDisposedException(nameof(Lease));

        public void Dispose() => Interlocked.Exchange(ref _snapshot, null)?.Release();
    }
}
