using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;

namespace Federated.Crypto.Psi;

/// <summary>
/// The files of one PSI job folder. Everything is this party's own: its keys, digests of its own IDs with what it
/// learned about them, and the peer's points only in double-blinded form (useless without both parties' scalars).
/// <list type="bullet">
/// <item>secret-keys.bin (0600): blinding scalar and ID-digest key.</item>
/// <item>own-items.bin (0600): per own ID, sorted by keyed digest: M stores H(x)^ab, E stores its send ordinal.</item>
/// <item>peer-values.bin: the peer's points raised to both scalars, by peer ordinal.</item>
/// <item>aligned-keys.txt, aligned-source-index.bin: the result rows in canonical order.</item>
/// <item>manifest.json: sizes, SHA-256 of every file, times, joint seed, state id (written last).</item>
/// </list>
/// </summary>
internal static class PsiJobStore
{
    public const string ManifestFile = "manifest.json";
    public const string KeysFile = "secret-keys.bin";
    public const string OwnItemsFile = "own-items.bin";
    public const string PeerValuesFile = "peer-values.bin";
    public const string AlignedKeysFile = "aligned-keys.txt";
    public const string AlignedIndexFile = "aligned-source-index.bin";
    public const string PeerOrdinalsFile = "peer-ordinals.bin";
    public const string OrdinalSourceIndexFile = "ordinal-source-index.bin";
    public const string ManifestFormat = "federated-psi-job/1";

    private static ReadOnlySpan<byte> KeysMagic => "FPSIKEY1"u8;
    private static ReadOnlySpan<byte> OwnMagic => "FPSIOWN1"u8;
    private static ReadOnlySpan<byte> PeerMagic => "FPSIPEE1"u8;

    public sealed record Manifest(
        string Format, string Role, string DomainHash, int Round, string StateId, string? PreviousStateId,
        string? PreviousJobFolder, long OwnIdCount, long OwnNewIdCount, long PeerIdCount, long PeerNewIdCount,
        long IntersectionSize, string JointSeed, string RowsDigest, DateTimeOffset StartedUtc, DateTimeOffset FinishedUtc,
        double ElapsedSeconds, Dictionary<string, string> FileSha256);

    /// <summary>State of an earlier round that a delta round continues from.</summary>
    public sealed class PriorState(Manifest manifest, PsiKeys keys, UInt128[] ownDigests, byte[]? ownValues, int[]? ownOrdinals, byte[] peerValues)
    {
        public Manifest Manifest { get; } = manifest;
        public PsiKeys Keys { get; } = keys;
        /// <summary>Sorted keyed digests of this party's IDs of earlier rounds.</summary>
        public UInt128[] OwnDigests { get; } = ownDigests;
        /// <summary>M: H(x)^ab per entry of <see cref="OwnDigests"/>.</summary>
        public byte[]? OwnValues { get; } = ownValues;
        /// <summary>E: send ordinal per entry of <see cref="OwnDigests"/>.</summary>
        public int[]? OwnOrdinals { get; } = ownOrdinals;
        public byte[] PeerValues { get; } = peerValues;
        public int PeerCount => PeerValues.Length / Ristretto255.PointBytes;
    }

    public static void PrepareFolder(string folder)
    {
        Directory.CreateDirectory(folder);
        if (File.Exists(Path.Combine(folder, ManifestFile)))
            throw new PsiStateException($"job folder {folder} already holds a PSI result; use a new folder per job");
        foreach (var f in new[] { KeysFile, OwnItemsFile, PeerValuesFile, AlignedKeysFile, AlignedIndexFile })
            File.Delete(Path.Combine(folder, f)); // leftovers of an interrupted run without a manifest
    }

    public static FileStream CreateFile(string path, bool secret)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16 };
        if (secret && !OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return new FileStream(path, options);
    }

    public static void WriteKeys(string folder, PsiRole role, PsiKeys keys)
    {
        using var f = CreateFile(Path.Combine(folder, KeysFile), secret: true);
        f.Write(KeysMagic);
        f.WriteByte((byte)role);
        f.Write(keys.Scalar);
        f.Write(keys.IdKey);
    }

    /// <summary>M: entries carry H(x)^ab (from <paramref name="ownValues"/> by source index); E: its ordinal.</summary>
    public static void WriteOwnItems(string folder, PsiRole role, ReadOnlySpan<DigestEntry> sorted, byte[]? ownValues, int[]? ownOrdinals)
    {
        using var f = CreateFile(Path.Combine(folder, OwnItemsFile), secret: true);
        f.Write(OwnMagic);
        f.WriteByte((byte)role);
        Span<byte> u64 = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(u64, sorted.Length);
        f.Write(u64);
        Span<byte> entry = stackalloc byte[16 + 32];
        foreach (var e in sorted)
        {
            BinaryPrimitives.WriteUInt128BigEndian(entry, e.Digest);
            if (role == PsiRole.Music)
            {
                ownValues.AsSpan(e.Index * 32, 32).CopyTo(entry[16..]);
                f.Write(entry);
            }
            else
            {
                BinaryPrimitives.WriteInt32LittleEndian(entry[16..], ownOrdinals![e.Index]);
                f.Write(entry[..20]);
            }
        }
    }

    public static void WritePeerValues(string folder, ReadOnlySpan<byte> values)
    {
        using var f = CreateFile(Path.Combine(folder, PeerValuesFile), secret: true);
        f.Write(PeerMagic);
        Span<byte> u64 = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(u64, values.Length / 32);
        f.Write(u64);
        f.Write(values);
    }

    public static void WriteManifest(string folder, Manifest manifest)
    {
        string tmp = Path.Combine(folder, ManifestFile + ".tmp");
        File.WriteAllBytes(tmp, JsonSerializer.SerializeToUtf8Bytes(manifest, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
        File.Move(tmp, Path.Combine(folder, ManifestFile));
    }

    public static string FileSha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f)).ToLowerInvariant();
    }

    public static Manifest ReadManifest(string folder, PsiRole role, string domainHash)
    {
        string path = Path.Combine(folder, ManifestFile);
        if (!File.Exists(path)) throw new PsiStateException($"no PSI result in {folder} (missing {ManifestFile})");
        Manifest? m;
        try { m = JsonSerializer.Deserialize<Manifest>(File.ReadAllBytes(path), new JsonSerializerOptions(JsonSerializerDefaults.Web)); }
        catch (JsonException e) { throw new PsiStateException($"{path} is not a valid PSI manifest", e); }
        if (m is null || m.Format != ManifestFormat) throw new PsiStateException($"{path} is not a {ManifestFormat} manifest");
        if (m.Role != role.Name()) throw new PsiStateException($"{folder} holds the {m.Role} party's state, not the {role.Name()} party's");
        if (m.DomainHash != domainHash) throw new PsiStateException($"{folder} belongs to another PSI domain; delta rounds must keep the domain");
        return m;
    }

    private static byte[] ReadVerified(string folder, Manifest m, string file)
    {
        string path = Path.Combine(folder, file);
        if (!File.Exists(path)) throw new PsiStateException($"state file {path} is missing");
        var bytes = File.ReadAllBytes(path);
        if (!m.FileSha256.TryGetValue(file, out var expected) || Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant() != expected)
            throw new PsiStateException($"state file {path} does not match the SHA-256 in its manifest (changed or corrupt)");
        return bytes;
    }

    public static PsiKeys ReadKeys(string folder, Manifest m, PsiRole role)
    {
        var bytes = ReadVerified(folder, m, KeysFile);
        try
        {
            if (bytes.Length != 8 + 1 + 32 + PsiKeys.IdKeyBytes || !bytes.AsSpan(0, 8).SequenceEqual(KeysMagic) || bytes[8] != (byte)role)
                throw new PsiStateException($"{Path.Combine(folder, KeysFile)} is not a {role.Name()} party key file");
            return PsiKeys.FromBytes(bytes.AsSpan(9, 32), bytes.AsSpan(41, PsiKeys.IdKeyBytes));
        }
        finally { CryptographicOperations.ZeroMemory(bytes); }
    }

    public static PriorState LoadPrior(string folder, PsiRole role, string domainHash)
    {
        var m = ReadManifest(folder, role, domainHash);
        var keys = ReadKeys(folder, m, role);
        try
        {
            var own = ReadVerified(folder, m, OwnItemsFile);
            int entryBytes = role == PsiRole.Music ? 48 : 20;
            if (own.Length < 17 || !own.AsSpan(0, 8).SequenceEqual(OwnMagic) || own[8] != (byte)role)
                throw new PsiStateException($"{OwnItemsFile} in {folder} is not a {role.Name()} party file");
            long count = BinaryPrimitives.ReadInt64LittleEndian(own.AsSpan(9));
            if (count != m.OwnIdCount || own.Length != 17 + count * entryBytes)
                throw new PsiStateException($"{OwnItemsFile} in {folder} has the wrong size for {m.OwnIdCount} IDs");
            var digests = new UInt128[count];
            byte[]? values = role == PsiRole.Music ? new byte[count * 32] : null;
            int[]? ordinals = role == PsiRole.External ? new int[count] : null;
            var seen = role == PsiRole.External ? new bool[count] : null;
            for (int i = 0; i < count; i++)
            {
                var e = own.AsSpan(17 + i * entryBytes, entryBytes);
                digests[i] = BinaryPrimitives.ReadUInt128BigEndian(e);
                if (i > 0 && digests[i] <= digests[i - 1]) throw new PsiStateException($"{OwnItemsFile} in {folder} is not sorted");
                if (values is not null) e[16..].CopyTo(values.AsSpan(i * 32));
                else
                {
                    int o = BinaryPrimitives.ReadInt32LittleEndian(e[16..]);
                    if (o < 0 || o >= count || seen![o]) throw new PsiStateException($"{OwnItemsFile} in {folder} has an invalid ordinal");
                    seen[o] = true;
                    ordinals![i] = o;
                }
            }
            var peer = ReadVerified(folder, m, PeerValuesFile);
            if (peer.Length < 16 || !peer.AsSpan(0, 8).SequenceEqual(PeerMagic)) throw new PsiStateException($"{PeerValuesFile} in {folder} is not a peer-values file");
            long peerCount = BinaryPrimitives.ReadInt64LittleEndian(peer.AsSpan(8));
            if (peerCount != m.PeerIdCount || peer.Length != 16 + peerCount * 32)
                throw new PsiStateException($"{PeerValuesFile} in {folder} has the wrong size for {m.PeerIdCount} peer points");
            return new PriorState(m, keys, digests, values, ordinals, peer.AsSpan(16).ToArray());
        }
        catch
        {
            keys.Dispose();
            throw;
        }
    }
}

/// <summary>Keyed digest of one own ID with its position in the source.</summary>
internal readonly record struct DigestEntry(UInt128 Digest, int Index) : IComparable<DigestEntry>
{
    public int CompareTo(DigestEntry other) => Digest.CompareTo(other.Digest);
}
