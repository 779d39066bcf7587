using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federated.Serving.Publication;

/// <summary>What a published model version is: where it came from, its shape and its quality at publication.</summary>
public sealed record EmbeddingManifest
{
    public const int CurrentFormat = 1;

    public int FormatVersion { get; init; } = CurrentFormat;
    /// <summary>The version id, assigned by the store at publication ("v1", "v2", ...).</summary>
    public string Version { get; init; } = "";
    public required string TrainingJob { get; init; }
    public required string AttemptId { get; init; }
    public required int Round { get; init; }
    public DateTimeOffset Created { get; init; }
    /// <summary>Width of every vector; the score of a (user, item) pair is the dot product of their vectors.</summary>
    public required int Dimensions { get; init; }
    public required int Items { get; init; }
    public required int Users { get; init; }
    /// <summary>Fingerprint of the schemas of M's tables the model was trained on (so a changed table layout is noticed).</summary>
    public required string SchemaFingerprint { get; init; }
    /// <summary>Validation metrics at publication (name, value), for the publish gate and the operator.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    /// <summary>SHA-256 of each data file, checked when the set is opened.</summary>
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// One model version's vectors: item vectors for every song M holds (cold songs included) and user vectors for the
/// aligned users, each with its keys. On disk: <c>manifest.json</c>, <c>items.keys</c> / <c>users.keys</c> (one key
/// per line) and <c>items.f32</c> / <c>users.f32</c> (little-endian float32, row-major). Immutable once written.
/// </summary>
public sealed class EmbeddingSet
{
    public const string ManifestFile = "manifest.json";
    /// <summary>Subfolder of a version with what the music host needs to embed a new song (item tower, songs encoding), when published.</summary>
    public const string EncoderFolderName = "encoder";
    private const string ItemKeys = "items.keys", ItemVectors = "items.f32", UserKeys = "users.keys", UserVectors = "users.f32", UserPriorValues = "users.prior.f32";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    private readonly Dictionary<string, int> _itemRow;
    private readonly Dictionary<string, int> _userRow;

    private EmbeddingSet(string folder, EmbeddingManifest manifest, string[] itemKeys, float[] items, string[] userKeys, float[] users, float[] userPriors)
    {
        UserPriors = userPriors;
        Folder = folder;
        Manifest = manifest;
        ItemKeysInOrder = itemKeys;
        ItemMatrix = items;
        UserKeysInOrder = userKeys;
        UserMatrix = users;
        _itemRow = Index(itemKeys, "item");
        _userRow = Index(userKeys, "user");
    }

    public string Folder { get; }
    public EmbeddingManifest Manifest { get; }
    public int Dimensions => Manifest.Dimensions;
    public IReadOnlyList<string> ItemKeysInOrder { get; }
    public IReadOnlyList<string> UserKeysInOrder { get; }
    /// <summary>Row-major [items, dimensions].</summary>
    public ReadOnlyMemory<float> ItemMatrix { get; }
    /// <summary>Row-major [users, dimensions].</summary>
    public ReadOnlyMemory<float> UserMatrix { get; }

    /// <summary>
    /// Per user, in <see cref="UserKeysInOrder"/> order, the additive audience prior in dot-product units (the model's
    /// temperature times the log of the user's activity at M): song audiences rank users by u·s plus it. Empty when
    /// the version has none (audiences then rank by u·s alone).
    /// </summary>
    public ReadOnlyMemory<float> UserPriors { get; }
    /// <summary>The version's new-song encoder files (checked against the manifest's hashes when opened), or null when it has none.</summary>
    public string? EncoderFolder => Manifest.Files.Keys.Any(IsEncoderFile) ? Path.Combine(Folder, EncoderFolderName) : null;

    public bool TryGetItem(string key, out ReadOnlySpan<float> vector) => TryRow(_itemRow, ItemMatrix, key, out vector);
    public bool TryGetUser(string key, out ReadOnlySpan<float> vector) => TryRow(_userRow, UserMatrix, key, out vector);
    public int ItemRow(string key) => _itemRow.TryGetValue(key, out var row) ? row : -1;

    public int UserRow(string key) => _userRow.TryGetValue(key, out var row) ? row : -1;

    private bool TryRow(Dictionary<string, int> rows, ReadOnlyMemory<float> matrix, string key, out ReadOnlySpan<float> vector)
    {
        if (!rows.TryGetValue(key, out var row)) { vector = default; return false; }
        vector = matrix.Span.Slice(row * Dimensions, Dimensions);
        return true;
    }

    /// <summary>
    /// Writes a set into <paramref name="folder"/> (which must not exist yet): data files first, the manifest with
    /// their hashes last, all through a temporary folder renamed into place, so a crash leaves no half set. The files of
    /// <paramref name="encoderFolder"/> (flat; the new-song encoder) are copied into <see cref="EncoderFolderName"/> and hashed alike.
    /// </summary>
    public static EmbeddingSet Write(string folder, EmbeddingManifest manifest, IReadOnlyList<string> itemKeys, ReadOnlySpan<float> items,
        IReadOnlyList<string> userKeys, ReadOnlySpan<float> users, string? encoderFolder = null, ReadOnlySpan<float> userPriors = default)
    {
        if (!userPriors.IsEmpty) CheckPriors(userPriors, userKeys.Count, "the user priors to publish");
        var encoderFiles = encoderFolder is null ? [] : Directory.GetFiles(encoderFolder).Order(StringComparer.Ordinal).ToArray();
        if (encoderFolder is not null && encoderFiles.Length == 0) throw new ArgumentException($"new-song encoder folder {encoderFolder} holds no files", nameof(encoderFolder));
        foreach (var file in encoderFiles)
            if (!IsEncoderFile(EncoderFolderName + "/" + Path.GetFileName(file)))
                throw new ArgumentException($"new-song encoder file name '{Path.GetFileName(file)}' must be letters, digits, '.', '-' or '_'", nameof(encoderFolder));
        var d = manifest.Dimensions;
        if (d <= 0) throw new ArgumentException($"dimensions must be positive, got {d}");
        Check(itemKeys, items, d, "item");
        Check(userKeys, users, d, "user");
        if (Directory.Exists(folder)) throw new IOException($"embedding set folder {folder} already exists");
        var temporary = folder + ".partial-" + Environment.ProcessId;
        if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        Directory.CreateDirectory(temporary);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ItemKeys] = WriteKeys(Path.Combine(temporary, ItemKeys), itemKeys),
            [ItemVectors] = WriteVectors(Path.Combine(temporary, ItemVectors), items),
            [UserKeys] = WriteKeys(Path.Combine(temporary, UserKeys), userKeys),
            [UserVectors] = WriteVectors(Path.Combine(temporary, UserVectors), users),
        };
        if (!userPriors.IsEmpty) hashes[UserPriorValues] = WriteVectors(Path.Combine(temporary, UserPriorValues), userPriors);
        if (encoderFiles.Length > 0) Directory.CreateDirectory(Path.Combine(temporary, EncoderFolderName));
        foreach (var file in encoderFiles)
        {
            var copy = Path.Combine(temporary, EncoderFolderName, Path.GetFileName(file));
            File.Copy(file, copy);
            hashes[EncoderFolderName + "/" + Path.GetFileName(file)] = HashFile(copy);
        }
        var final = manifest with { Items = itemKeys.Count, Users = userKeys.Count, Files = hashes };
        File.WriteAllBytes(Path.Combine(temporary, ManifestFile), JsonSerializer.SerializeToUtf8Bytes(final, Json));
        Directory.Move(temporary, folder);
        return Open(folder);
    }

    /// <summary>Opens a set, checking the manifest, each file's hash and every vector's shape and values.</summary>
    public static EmbeddingSet Open(string folder)
    {
        var manifestPath = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifestPath)) throw new InvalidDataException($"{folder} is not an embedding set: {ManifestFile} is missing");
        EmbeddingManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<EmbeddingManifest>(File.ReadAllBytes(manifestPath), Json)
                ?? throw new InvalidDataException($"{manifestPath} is empty");
        }
        catch (JsonException e) { throw new InvalidDataException($"{manifestPath} is not a valid manifest: {e.Message}", e); }
        if (manifest.FormatVersion != EmbeddingManifest.CurrentFormat)
            throw new InvalidDataException($"{manifestPath}: format version {manifest.FormatVersion}, this build reads {EmbeddingManifest.CurrentFormat}");
        foreach (var name in new[] { ItemKeys, ItemVectors, UserKeys, UserVectors })
        {
            var path = Path.Combine(folder, name);
            if (!File.Exists(path)) throw new InvalidDataException($"embedding set {folder}: {name} is missing");
            if (!manifest.Files.TryGetValue(name, out var expected) || !string.Equals(expected, HashFile(path), StringComparison.Ordinal))
                throw new InvalidDataException($"embedding set {folder}: {name} does not match the hash in its manifest (changed or damaged)");
        }
        foreach (var (name, expected) in manifest.Files)
        {
            if (name is ItemKeys or ItemVectors or UserKeys or UserVectors) continue;
            if (name is UserPriorValues)
            {
                var priorPath = Path.Combine(folder, name);
                if (!File.Exists(priorPath)) throw new InvalidDataException($"embedding set {folder}: {name} is missing");
                if (!string.Equals(expected, HashFile(priorPath), StringComparison.Ordinal))
                    throw new InvalidDataException($"embedding set {folder}: {name} does not match the hash in its manifest (changed or damaged)");
                continue;
            }
            if (!IsEncoderFile(name)) throw new InvalidDataException($"embedding set {folder}: its manifest lists '{name}', which is no file a version holds");
            var path = Path.Combine(folder, EncoderFolderName, name[(EncoderFolderName.Length + 1)..]);
            if (!File.Exists(path)) throw new InvalidDataException($"embedding set {folder}: {name} is missing");
            if (!string.Equals(expected, HashFile(path), StringComparison.Ordinal))
                throw new InvalidDataException($"embedding set {folder}: {name} does not match the hash in its manifest (changed or damaged)");
        }
        var itemKeys = File.ReadAllLines(Path.Combine(folder, ItemKeys));
        var userKeys = File.ReadAllLines(Path.Combine(folder, UserKeys));
        var items = ReadVectors(Path.Combine(folder, ItemVectors));
        var users = ReadVectors(Path.Combine(folder, UserVectors));
        Check(itemKeys, items, manifest.Dimensions, "item");
        Check(userKeys, users, manifest.Dimensions, "user");
        if (itemKeys.Length != manifest.Items || userKeys.Length != manifest.Users)
            throw new InvalidDataException($"embedding set {folder}: the manifest counts {manifest.Items} items and {manifest.Users} users, the files hold {itemKeys.Length} and {userKeys.Length}");
        float[] priors = [];
        if (manifest.Files.ContainsKey(UserPriorValues))
        {
            priors = ReadVectors(Path.Combine(folder, UserPriorValues));
            try { CheckPriors(priors, userKeys.Length, $"embedding set {folder}: {UserPriorValues}"); }
            catch (ArgumentException e) { throw new InvalidDataException(e.Message, e); }
        }
        return new EmbeddingSet(folder, manifest, itemKeys, items, userKeys, users, priors);
    }

    private static void CheckPriors(ReadOnlySpan<float> priors, int users, string what)
    {
        if (priors.Length != users) throw new ArgumentException($"{what}: {priors.Length} values for {users} users");
        for (int i = 0; i < priors.Length; i++)
            if (!float.IsFinite(priors[i])) throw new ArgumentException($"{what}: the value of user row {i} is not finite");
    }

    private static void Check(IReadOnlyList<string> keys, ReadOnlySpan<float> vectors, int d, string what)
    {
        if ((long)keys.Count * d != vectors.Length)
            throw new ArgumentException($"{keys.Count} {what} keys need {(long)keys.Count * d} floats at {d} dimensions, got {vectors.Length}");
        for (var i = 0; i < vectors.Length; i++)
            if (!float.IsFinite(vectors[i]))
                throw new ArgumentException($"{what} vector of '{keys[i / d]}' has a non-finite value at dimension {i % d}");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
        {
            if (string.IsNullOrEmpty(keys[i]) || keys[i].Contains('\n') || keys[i].Contains('\r'))
                throw new ArgumentException($"{what} key at row {i} is empty or holds a line break");
            if (!seen.Add(keys[i])) throw new ArgumentException($"{what} key '{keys[i]}' appears twice");
        }
    }

    private static Dictionary<string, int> Index(string[] keys, string what)
    {
        var rows = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++)
            if (!rows.TryAdd(keys[i], i)) throw new InvalidDataException($"{what} key '{keys[i]}' appears twice");
        return rows;
    }

    private static string WriteKeys(string path, IReadOnlyList<string> keys)
    {
        File.WriteAllLines(path, keys);
        return HashFile(path);
    }

    private static string WriteVectors(string path, ReadOnlySpan<float> values)
    {
        using (var stream = File.Create(path))
        {
            if (BitConverter.IsLittleEndian) stream.Write(MemoryMarshal.AsBytes(values));
            else
            {
                var buffer = new byte[4];
                foreach (var v in values) { BinaryPrimitives.WriteSingleLittleEndian(buffer, v); stream.Write(buffer); }
            }
        }
        return HashFile(path);
    }

    private static float[] ReadVectors(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length % 4 != 0) throw new InvalidDataException($"{path} has {bytes.Length} bytes, not whole float32 values");
        var values = new float[bytes.Length / 4];
        for (var i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i));
        return values;
    }

    /// <summary>"encoder/NAME" with a plain file name (no folders, no "..").</summary>
    private static bool IsEncoderFile(string name) =>
        name.StartsWith(EncoderFolderName + "/", StringComparison.Ordinal) && name[(EncoderFolderName.Length + 1)..] is { Length: > 0 } file
        && file.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_') && file.Trim('.').Length > 0 && !file.Contains("..", StringComparison.Ordinal);

    internal static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
