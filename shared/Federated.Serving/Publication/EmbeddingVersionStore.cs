using System.Globalization;
using System.Text.Json;

namespace Federated.Serving.Publication;

/// <summary>One published version as the store lists it.</summary>
public sealed record PublishedVersion(string Version, DateTimeOffset Published, bool Current, EmbeddingManifest Manifest);

/// <summary>What the store's pointer file says: the serving version and when and why it became current.</summary>
internal sealed record CurrentPointer(string Version, DateTimeOffset Switched, string Reason);

/// <summary>
/// M's published embedding sets, in its own state folder: <c>versions/v1</c>, <c>versions/v2</c>, ... (immutable) and
/// <c>current.json</c>, the serving version. Publishing writes the new set completely, then switches the pointer by
/// an atomic rename; a rollback switches it back. The current version and the one before it are never pruned.
/// One writer at a time across processes (a lock file); readers only ever see a complete set.
/// </summary>
public sealed class EmbeddingVersionStore
{
    private const string VersionsFolder = "versions", PointerFile = "current.json", LockFile = ".lock";
    private readonly object _gate = new();

    public EmbeddingVersionStore(string folder, int keepVersions = 5)
    {
        if (keepVersions < 2) throw new ArgumentOutOfRangeException(nameof(keepVersions), keepVersions, "keep at least 2 versions (the current one and one to roll back to)");
        Folder = Path.GetFullPath(folder);
        KeepVersions = keepVersions;
        Directory.CreateDirectory(Path.Combine(Folder, VersionsFolder));
    }

    public string Folder { get; }
    public int KeepVersions { get; }

    /// <summary>Raised after the serving version changed (publication or rollback), with the new current set.</summary>
    public event Action<EmbeddingSet>? CurrentChanged;

    /// <summary>The serving version's id, or null before the first publication.</summary>
    public string? CurrentVersion => ReadPointer()?.Version;

    /// <summary>Opens the serving set (checks its files); null before the first publication.</summary>
    public EmbeddingSet? OpenCurrent() => CurrentVersion is { } v ? Open(v) : null;

    public EmbeddingSet Open(string version) => EmbeddingSet.Open(VersionFolder(RequireKnown(version)));

    /// <summary>Every published version, oldest first.</summary>
    public IReadOnlyList<PublishedVersion> List()
    {
        var current = CurrentVersion;
        return Versions().Select(v =>
        {
            var manifest = ReadManifest(v);
            return new PublishedVersion(v, manifest.Created, v == current, manifest);
        }).ToArray();
    }

    /// <summary>
    /// Writes a new version and makes it current; returns it. <paramref name="makeCurrent"/> false publishes without
    /// switching (a gated round). <paramref name="encoderFolder"/>: the new-song encoder's files, kept inside the version;
    /// <paramref name="userPriors"/>: the users' audience priors (<see cref="EmbeddingSet.UserPriors"/>), or empty.
    /// </summary>
    public EmbeddingSet Publish(EmbeddingManifest manifest, IReadOnlyList<string> itemKeys, ReadOnlySpan<float> items,
        IReadOnlyList<string> userKeys, ReadOnlySpan<float> users, bool makeCurrent = true, string? encoderFolder = null, ReadOnlySpan<float> userPriors = default)
    {
        EmbeddingSet set;
        lock (_gate)
        {
            using var _ = AcquireFileLock();
            var number = Versions().Select(Number).DefaultIfEmpty(0).Max() + 1;
            var version = "v" + number.ToString(CultureInfo.InvariantCulture);
            set = EmbeddingSet.Write(VersionFolder(version), manifest with { Version = version, Created = DateTimeOffset.UtcNow },
                itemKeys, items, userKeys, users, encoderFolder, userPriors);
            if (makeCurrent) WritePointer(new CurrentPointer(version, DateTimeOffset.UtcNow, "published"));
            Prune();
        }
        if (makeCurrent) CurrentChanged?.Invoke(set);
        return set;
    }

    /// <summary>
    /// Makes <paramref name="version"/> current, or (null) the newest version older than the current one. Errors name
    /// the versions there are. Returns the set now serving.
    /// </summary>
    public EmbeddingSet Rollback(string? version = null)
    {
        EmbeddingSet set;
        lock (_gate)
        {
            using var _ = AcquireFileLock();
            var current = CurrentVersion ?? throw new InvalidOperationException($"nothing to roll back: no version of {Folder} is serving yet");
            var target = version ?? Versions().Where(v => Number(v) < Number(current)).LastOrDefault()
                ?? throw new InvalidOperationException($"no version older than {current} to roll back to (published: {string.Join(", ", Versions())})");
            RequireKnown(target);
            set = EmbeddingSet.Open(VersionFolder(target)); // refuse a damaged set before switching to it
            WritePointer(new CurrentPointer(target, DateTimeOffset.UtcNow, $"rollback from {current}"));
        }
        CurrentChanged?.Invoke(set);
        return set;
    }

    private string RequireKnown(string version)
    {
        if (!Versions().Contains(version, StringComparer.Ordinal))
            throw new KeyNotFoundException($"unknown model version '{version}' (published: {string.Join(", ", Versions())})");
        return version;
    }

    private string VersionFolder(string version) => Path.Combine(Folder, VersionsFolder, version);

    private IReadOnlyList<string> Versions() =>
        Directory.GetDirectories(Path.Combine(Folder, VersionsFolder))
            .Select(Path.GetFileName).OfType<string>()
            .Where(n => n.Length > 1 && n[0] == 'v' && n[1..].All(char.IsAsciiDigit) && File.Exists(Path.Combine(Folder, VersionsFolder, n, EmbeddingSet.ManifestFile)))
            .OrderBy(Number).ToArray();

    private static int Number(string version) => int.Parse(version.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture);

    private EmbeddingManifest ReadManifest(string version)
    {
        var path = Path.Combine(VersionFolder(version), EmbeddingSet.ManifestFile);
        return JsonSerializer.Deserialize<EmbeddingManifest>(File.ReadAllBytes(path), EmbeddingSet.Json)
            ?? throw new InvalidDataException($"{path} is empty");
    }

    private CurrentPointer? ReadPointer()
    {
        var path = Path.Combine(Folder, PointerFile);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<CurrentPointer>(File.ReadAllBytes(path), EmbeddingSet.Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not a valid serving pointer: {e.Message}", e); }
    }

    private void WritePointer(CurrentPointer pointer)
    {
        var path = Path.Combine(Folder, PointerFile);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(pointer, EmbeddingSet.Json));
        File.Move(temporary, path, overwrite: true); // rename(2): readers see the old pointer or the new one
    }

    /// <summary>Removes the oldest versions beyond <see cref="KeepVersions"/>, never the current one or the one before it.</summary>
    private void Prune()
    {
        var versions = Versions();
        var current = CurrentVersion;
        var keep = versions.TakeLast(KeepVersions).ToHashSet(StringComparer.Ordinal);
        if (current is not null)
        {
            keep.Add(current);
            if (versions.Where(v => Number(v) < Number(current)).LastOrDefault() is { } previous) keep.Add(previous);
        }
        foreach (var old in versions.Where(v => !keep.Contains(v)))
            Directory.Delete(VersionFolder(old), recursive: true);
    }

    private FileStream AcquireFileLock()
    {
        var path = Path.Combine(Folder, LockFile);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (DateTime.UtcNow < deadline) { Thread.Sleep(50); }
        }
    }
}
