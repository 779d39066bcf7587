using System.Buffers.Binary;
using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Keys;
using Federated.Crypto.Ckks.Sampling;

namespace Federated.Crypto.Ckks.Serialization;

/// <summary>
/// Versioned, compact binary form of parameters, plaintexts, ciphertexts and keys.
/// Header (38 bytes): magic "FCKS", format version, object kind, SHA-256 parameters hash. Residues are bit-packed
/// with each prime's bit size; only the primes of the object's level are written; seeded objects carry the 32-byte
/// seed instead of their uniform half. Every read is validated and fails with <see cref="CkksFormatException"/>.
/// </summary>
public static class CkksSerializer
{
    public const byte FormatVersion = 1;
    private const int HeaderSize = 4 + 1 + 1 + 32;
    private static ReadOnlySpan<byte> Magic => "FCKS"u8;

    public enum ObjectKind : byte { Parameters = 1, Plaintext = 2, Ciphertext = 3, PublicKey = 4, SecretKey = 5, GaloisKeys = 6 }

    // ------------------------------------------------------------------ writing

    private static int WriteHeader(Span<byte> dst, ObjectKind kind, byte[] hash)
    {
        Magic.CopyTo(dst);
        dst[4] = FormatVersion;
        dst[5] = (byte)kind;
        hash.CopyTo(dst[6..]);
        return HeaderSize;
    }

    private static int PolySize(CkksContext ctx, int primeCount, bool withSpecial)
    {
        int size = 0;
        for (int i = 0; i < primeCount; i++) size += BitPacking.PackedSize(ctx.N, ctx.Moduli[i].BitCount);
        if (withSpecial) size += BitPacking.PackedSize(ctx.N, ctx.SpecialPrime.BitCount);
        return size;
    }

    private static int WritePoly(CkksContext ctx, ReadOnlySpan<ulong> poly, int primeCount, Span<byte> dst)
    {
        int pos = 0, n = ctx.N;
        for (int i = 0; i < primeCount; i++)
        {
            int bits = ctx.Moduli[i].BitCount, size = BitPacking.PackedSize(n, bits);
            BitPacking.Pack(poly.Slice(i * n, n), bits, dst.Slice(pos, size));
            pos += size;
        }
        return pos;
    }

    public static byte[] Serialize(EncryptionParameters parameters, SecurityLevel securityLevel)
    {
        var ctxHash = new CkksContext(parameters, securityLevel).ParametersHash;
        var dst = new byte[HeaderSize + 4 + 1 + 4 + 8 * parameters.CoeffModulus.Count];
        int pos = WriteHeader(dst, ObjectKind.Parameters, ctxHash);
        BinaryPrimitives.WriteInt32LittleEndian(dst.AsSpan(pos), parameters.PolyModulusDegree); pos += 4;
        dst[pos++] = (byte)securityLevel;
        BinaryPrimitives.WriteInt32LittleEndian(dst.AsSpan(pos), parameters.CoeffModulus.Count); pos += 4;
        foreach (var m in parameters.CoeffModulus) { BinaryPrimitives.WriteUInt64LittleEndian(dst.AsSpan(pos), m.Value); pos += 8; }
        return dst;
    }

    public static byte[] Serialize(CkksContext context) => Serialize(context.Parameters, context.SecurityLevel);

    public static int SerializedSize(Plaintext p) => HeaderSize + 1 + 8 + PolySize(p.Context, p.PrimeCount, false);

    public static byte[] Serialize(Plaintext p)
    {
        var dst = new byte[SerializedSize(p)];
        int pos = WriteHeader(dst, ObjectKind.Plaintext, p.Context.ParametersHash);
        dst[pos++] = (byte)p.Level;
        BinaryPrimitives.WriteDoubleLittleEndian(dst.AsSpan(pos), p.Scale); pos += 8;
        WritePoly(p.Context, p.Data, p.PrimeCount, dst.AsSpan(pos));
        return dst;
    }

    public static int SerializedSize(Ciphertext c) =>
        HeaderSize + 1 + 8 + 1 + PolySize(c.Context, c.PrimeCount, false) + (c.IsSeeded ? Prng.SeedSize : PolySize(c.Context, c.PrimeCount, false));

    public static byte[] Serialize(Ciphertext c)
    {
        var dst = new byte[SerializedSize(c)];
        Serialize(c, dst);
        return dst;
    }

    /// <summary>Writes into a caller buffer of at least <see cref="SerializedSize(Ciphertext)"/> bytes; returns the count.</summary>
    public static int Serialize(Ciphertext c, Span<byte> dst)
    {
        int size = SerializedSize(c);
        if (dst.Length < size) throw new ArgumentException($"destination holds {dst.Length} bytes, the ciphertext needs {size}");
        int pos = WriteHeader(dst, ObjectKind.Ciphertext, c.Context.ParametersHash);
        dst[pos++] = (byte)c.Level;
        BinaryPrimitives.WriteDoubleLittleEndian(dst[pos..], c.Scale); pos += 8;
        dst[pos++] = c.IsSeeded ? (byte)1 : (byte)0;
        pos += WritePoly(c.Context, c.C0, c.PrimeCount, dst[pos..]);
        if (c.IsSeeded) { c.Seed!.CopyTo(dst[pos..]); pos += Prng.SeedSize; }
        else pos += WritePoly(c.Context, c.C1, c.PrimeCount, dst[pos..]);
        return pos;
    }

    public static byte[] Serialize(PublicKey pk)
    {
        var ctx = pk.Context;
        int all = ctx.Moduli.Length;
        var dst = new byte[HeaderSize + 16 + Prng.SeedSize + PolySize(ctx, all, false)];
        int pos = WriteHeader(dst, ObjectKind.PublicKey, ctx.ParametersHash);
        pk.KeyId.TryWriteBytes(dst.AsSpan(pos)); pos += 16;
        pk.Seed.CopyTo(dst, pos); pos += Prng.SeedSize;
        WritePoly(ctx, pk.B, all, dst.AsSpan(pos));
        return dst;
    }

    /// <summary>Secret key bytes. Key material: persist only inside the owning party, never log or send.</summary>
    public static byte[] Serialize(SecretKey sk)
    {
        var ctx = sk.Context;
        int all = ctx.Moduli.Length;
        var dst = new byte[HeaderSize + 16 + PolySize(ctx, all, false)];
        int pos = WriteHeader(dst, ObjectKind.SecretKey, ctx.ParametersHash);
        sk.KeyId.TryWriteBytes(dst.AsSpan(pos)); pos += 16;
        WritePoly(ctx, sk.Data, all, dst.AsSpan(pos));
        return dst;
    }

    public static byte[] Serialize(GaloisKeys gk)
    {
        var ctx = gk.Context;
        int all = ctx.Moduli.Length, digits = ctx.DataPrimeCount;
        int perKey = 4 + digits * (Prng.SeedSize + PolySize(ctx, all, false));
        var dst = new byte[HeaderSize + 16 + 4 + gk.Keys.Count * perKey];
        int pos = WriteHeader(dst, ObjectKind.GaloisKeys, ctx.ParametersHash);
        gk.KeyId.TryWriteBytes(dst.AsSpan(pos)); pos += 16;
        BinaryPrimitives.WriteInt32LittleEndian(dst.AsSpan(pos), gk.Keys.Count); pos += 4;
        foreach (var (g, key) in gk.Keys.OrderBy(kv => kv.Key))
        {
            BinaryPrimitives.WriteInt32LittleEndian(dst.AsSpan(pos), g); pos += 4;
            for (int j = 0; j < digits; j++)
            {
                key.Seeds[j].CopyTo(dst, pos); pos += Prng.SeedSize;
                pos += WritePoly(ctx, key.B[j], all, dst.AsSpan(pos));
            }
        }
        return dst;
    }

    // ------------------------------------------------------------------ reading

    private ref struct Reader(ReadOnlySpan<byte> data, string what)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public int Position;

        public ReadOnlySpan<byte> Take(int count, string field)
        {
            if (count < 0 || _data.Length - Position < count)
                throw new CkksFormatException($"{what}: truncated at byte {Position} reading {field} (needs {count} bytes, {Math.Max(0, _data.Length - Position)} left)");
            var s = _data.Slice(Position, count);
            Position += count;
            return s;
        }

        public byte Byte(string field) => Take(1, field)[0];
        public int Int32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));
        public ulong UInt64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));
        public double Double(string field) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, field));

        public void End()
        {
            if (Position != _data.Length)
                throw new CkksFormatException($"{what}: {_data.Length - Position} unexpected trailing bytes after byte {Position}");
        }
    }

    private static Reader Open(ReadOnlySpan<byte> data, ObjectKind kind, CkksContext? ctx, string what)
    {
        var r = new Reader(data, what);
        if (!r.Take(4, "magic").SequenceEqual(Magic)) throw new CkksFormatException($"{what}: not a CKKS object (bad magic bytes)");
        byte version = r.Byte("version");
        if (version != FormatVersion) throw new CkksFormatException($"{what}: unsupported format version {version}, expected {FormatVersion}");
        byte k = r.Byte("kind");
        if (k != (byte)kind)
            throw new CkksFormatException($"{what}: object kind is {(Enum.IsDefined(typeof(ObjectKind), k) ? ((ObjectKind)k).ToString() : k.ToString())}, expected {kind}");
        var hash = r.Take(32, "parameters hash");
        if (ctx is not null && !hash.SequenceEqual(ctx.ParametersHash))
            throw new CkksFormatException($"{what}: foreign parameters (parameters hash {Convert.ToHexString(hash[..8])}... does not match this context's {Convert.ToHexString(ctx.ParametersHash.AsSpan(0, 8))}...)");
        return r;
    }

    private static void ReadPoly(ref Reader r, CkksContext ctx, int primeCount, Span<ulong> dst, string what, string field)
    {
        int n = ctx.N;
        for (int i = 0; i < primeCount; i++)
        {
            Modulus q = ctx.Moduli[i];
            var src = r.Take(BitPacking.PackedSize(n, q.BitCount), $"{field} prime {i}");
            int bad = BitPacking.Unpack(src, q.BitCount, q.Value, dst.Slice(i * n, n));
            if (bad >= 0)
                throw new CkksFormatException($"{what}: {field} coefficient {bad} of prime {i} is out of range (not below {q.Value})");
        }
    }

    private static int ReadLevel(ref Reader r, CkksContext ctx, int? expectedLevel, string what)
    {
        int level = r.Byte("level");
        if (level > ctx.MaxLevel) throw new CkksFormatException($"{what}: level {level} exceeds the parameters' top level {ctx.MaxLevel}");
        if (expectedLevel is int e && e != level) throw new CkksFormatException($"{what}: wrong level {level}, expected {e}");
        return level;
    }

    private static double ReadScale(ref Reader r, CkksContext ctx, int level, string what)
    {
        double scale = r.Double("scale");
        if (!double.IsFinite(scale) || scale < 1 || Math.Log2(scale) >= ctx.LogModulusAtLevel(level))
            throw new CkksFormatException($"{what}: scale {scale} is not valid at level {level} (must be finite, >= 1 and below the modulus 2^{ctx.LogModulusAtLevel(level):F1})");
        return scale;
    }

    /// <summary>Reads parameters and builds their context (the stored hash must match the parameters).</summary>
    public static CkksContext DeserializeContext(ReadOnlySpan<byte> data)
    {
        const string what = "parameters";
        var r = Open(data, ObjectKind.Parameters, null, what);
        var storedHash = data.Slice(6, 32).ToArray();
        int n = r.Int32("poly modulus degree");
        byte level = r.Byte("security level");
        if (level != (byte)SecurityLevel.Tc128 && level != (byte)SecurityLevel.NoneInsecure)
            throw new CkksFormatException($"{what}: unknown security level {level}");
        int count = r.Int32("prime count");
        if (count < 2 || count > 64) throw new CkksFormatException($"{what}: prime count {count} is outside [2, 64]");
        var primes = new Modulus[count];
        for (int i = 0; i < count; i++)
        {
            ulong v = r.UInt64($"prime {i}");
            if (v < 2 || v >> Modulus.MaxBitCount != 0) throw new CkksFormatException($"{what}: prime {i} value {v} is out of range");
            primes[i] = new Modulus(v);
        }
        r.End();
        CkksContext ctx;
        try { ctx = new CkksContext(new EncryptionParameters(n, primes), (SecurityLevel)level); }
        catch (CkksParameterException e) { throw new CkksFormatException($"{what}: invalid parameters: {e.Message}"); }
        if (!ctx.ParametersHash.AsSpan().SequenceEqual(storedHash))
            throw new CkksFormatException($"{what}: stored parameters hash does not match the parameters (corrupted)");
        return ctx;
    }

    public static Plaintext DeserializePlaintext(CkksContext ctx, ReadOnlySpan<byte> data, int? expectedLevel = null)
    {
        const string what = "plaintext";
        var r = Open(data, ObjectKind.Plaintext, ctx, what);
        int level = ReadLevel(ref r, ctx, expectedLevel, what);
        double scale = ReadScale(ref r, ctx, level, what);
        var p = new Plaintext(ctx, level, scale);
        ReadPoly(ref r, ctx, level + 1, p.Data, what, "data");
        r.End();
        return p;
    }

    public static Ciphertext DeserializeCiphertext(CkksContext ctx, ReadOnlySpan<byte> data, int? expectedLevel = null)
    {
        var c = new Ciphertext(ctx, expectedLevel ?? ctx.MaxLevel, 1);
        DeserializeCiphertext(ctx, data, c, expectedLevel);
        return c;
    }

    /// <summary>Reads into an existing ciphertext, reusing its memory when large enough (like SEAL's load).</summary>
    public static void DeserializeCiphertext(CkksContext ctx, ReadOnlySpan<byte> data, Ciphertext destination, int? expectedLevel = null)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.Context.SameParameters(ctx)) throw new ArgumentException("destination ciphertext belongs to different parameters");
        const string what = "ciphertext";
        var r = Open(data, ObjectKind.Ciphertext, ctx, what);
        int level = ReadLevel(ref r, ctx, expectedLevel, what);
        double scale = ReadScale(ref r, ctx, level, what);
        byte flags = r.Byte("flags");
        if (flags > 1) throw new CkksFormatException($"{what}: unknown flags {flags}");
        var c = destination;
        c.Reshape(level, scale);
        ReadPoly(ref r, ctx, level + 1, c.C0, what, "c0");
        if (flags == 1)
        {
            byte[] seed = r.Take(Prng.SeedSize, "seed").ToArray();
            Encryptor.ExpandSeededC1(ctx, seed, level, c.C1);
            c.Seed = seed;
        }
        else ReadPoly(ref r, ctx, level + 1, c.C1, what, "c1");
        r.End();
    }

    public static PublicKey DeserializePublicKey(CkksContext ctx, ReadOnlySpan<byte> data)
    {
        const string what = "public key";
        var r = Open(data, ObjectKind.PublicKey, ctx, what);
        var id = new Guid(r.Take(16, "key id"));
        byte[] seed = r.Take(Prng.SeedSize, "seed").ToArray();
        int all = ctx.Moduli.Length;
        var b = new ulong[all * ctx.N];
        ReadPoly(ref r, ctx, all, b, what, "b");
        r.End();
        var a = new ulong[all * ctx.N];
        using (var prng = new Prng(seed)) Samplers.Uniform(prng, ctx.Moduli, ctx.N, a);
        return new PublicKey(ctx, id, b, a, seed);
    }

    public static SecretKey DeserializeSecretKey(CkksContext ctx, ReadOnlySpan<byte> data)
    {
        const string what = "secret key";
        var r = Open(data, ObjectKind.SecretKey, ctx, what);
        var id = new Guid(r.Take(16, "key id"));
        int all = ctx.Moduli.Length;
        var s = new ulong[all * ctx.N];
        ReadPoly(ref r, ctx, all, s, what, "s");
        r.End();
        return new SecretKey(ctx, s, id);
    }

    public static GaloisKeys DeserializeGaloisKeys(CkksContext ctx, ReadOnlySpan<byte> data)
    {
        const string what = "Galois keys";
        var r = Open(data, ObjectKind.GaloisKeys, ctx, what);
        var id = new Guid(r.Take(16, "key id"));
        int count = r.Int32("key count");
        int all = ctx.Moduli.Length, digits = ctx.DataPrimeCount, n = ctx.N;
        if (count < 0 || count > ctx.SlotCount) throw new CkksFormatException($"{what}: key count {count} is outside [0, {ctx.SlotCount}]");
        var keys = new Dictionary<int, KeySwitchKey>();
        for (int k = 0; k < count; k++)
        {
            int g = r.Int32($"Galois element {k}");
            if (g <= 1 || g >= 2 * n || (g & 1) == 0 || (g & 3) != 1)
                throw new CkksFormatException($"{what}: Galois element {g} (key {k}) is not a rotation element (odd, 1 mod 4, in (1, 2N))");
            if (!keys.TryAdd(g, null!)) throw new CkksFormatException($"{what}: Galois element {g} appears twice");
            var bs = new ulong[digits][];
            var as_ = new ulong[digits][];
            var seeds = new byte[digits][];
            for (int j = 0; j < digits; j++)
            {
                seeds[j] = r.Take(Prng.SeedSize, $"key {k} digit {j} seed").ToArray();
                bs[j] = new ulong[all * n];
                ReadPoly(ref r, ctx, all, bs[j], what, $"key {k} digit {j}");
                as_[j] = new ulong[all * n];
                using var prng = new Prng(seeds[j]);
                Samplers.Uniform(prng, ctx.Moduli, n, as_[j]);
            }
            keys[g] = new KeySwitchKey(bs, as_, seeds);
        }
        r.End();
        return new GaloisKeys(ctx, id, keys);
    }
}
