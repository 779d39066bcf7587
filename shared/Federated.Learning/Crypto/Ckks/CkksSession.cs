using System.Buffers.Binary;
using System.Collections.Concurrent;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Keys;
using Federated.Crypto.Ckks.Packing;
using Federated.Crypto.Ckks.Protocol;
using Federated.Crypto.Ckks.Serialization;
using Federated.Learning.Protocol.V1;
using Google.Protobuf;
using CkksBudget = Federated.Crypto.Ckks.Protocol.ReleaseBudget;
using CkksBudgetExhausted = Federated.Crypto.Ckks.ReleaseBudgetExhaustedException;

namespace Federated.Learning.Crypto.Ckks;

/// <summary>
/// What both parties' CKKS sessions share: the context, this party's key pair and release budget, the peer's public
/// key, block (de)serialisation and the share release/unmask steps. Each party's key is its own; the secret key never
/// leaves the session. Values are column-packed (slot = batch row, columns replicated when the batch is smaller
/// than the slot count).
/// </summary>
public abstract class CkksSession : IInteractiveLayerCryptoSession
{
    public const string SchemeName = "ckks/v1";
    private static readonly ConcurrentDictionary<string, CkksContext> Contexts = new();

    private KeyGenerator _keys = null!;
    private ShareReleaser _releaser = null!;
    private Decryptor _decryptor = null!;

    protected CkksSession(CkksSessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Context = ContextFor(options);
        Encoder = new CkksEncoder(Context);
        Evaluator = new Evaluator(Context);
        Products = new PackedMatrixProducts(Context, options.MaxDegreeOfParallelism);
        FloodingSigma = options.FloodingSigma;
        InputScale = Math.Pow(2, options.InputScaleBits);
        InstallFreshKeys();
    }

    /// <summary>A fresh key pair with its own release budget (at construction and at every rotation).</summary>
    private void InstallFreshKeys()
    {
        var keys = new KeyGenerator(Context);
        PublicKey = keys.CreatePublicKey();
        OwnEncryptor = new Encryptor(Context, PublicKey, keys.SecretKey);
        _decryptor = new Decryptor(Context, keys.SecretKey);
        Budget = new CkksBudget(keys.SecretKey.KeyId, Options.ReleaseBudget);
        _releaser = new ShareReleaser(Context, keys.SecretKey, Budget, FloodingSigma);
        _keys?.SecretKey.Dispose();
        _keys = keys;
    }

    public int KeyRotations { get; private set; }

    public int ReleasesPerShare(int rows, int cols) => Layout(rows, "release count").OutputCiphertextCount(cols);

    /// <summary>Replaces the key pair; the old secret key is wiped. Only between steps (no mask or share pending).</summary>
    public virtual void RotateKeys()
    {
        InstallFreshKeys();
        KeyRotations++;
    }

    protected CkksSessionOptions Options { get; }
    protected CkksContext Context { get; }
    protected CkksEncoder Encoder { get; }
    protected Evaluator Evaluator { get; }
    protected PackedMatrixProducts Products { get; }
    protected PublicKey PublicKey { get; private set; } = null!;
    protected Encryptor OwnEncryptor { get; private set; } = null!;
    protected CkksBudget Budget { get; private set; } = null!;
    protected double InputScale { get; }
    protected PublicKey? PeerPublicKey { get; private set; }
    protected Rerandomizer? PeerRerandomizer { get; private set; }
    /// <summary>Level of fresh ciphertexts; products are rescaled once, to <see cref="ProductLevel"/>.</summary>
    protected int InputLevel => Context.MaxLevel;
    protected int ProductLevel => Context.MaxLevel - 1;

    public CryptoMode Mode => CryptoMode.Ckks;
    public string Scheme => SchemeName;
    public long ReleasesUsed => Budget.Used;
    public long ReleaseBudget => Budget.Budget;
    /// <summary>σ_f of the discrete Gaussian added to every released share.</summary>
    public double FloodingSigma { get; }
    /// <summary>Key-switched rotations this session performed: none, the protocol's products are rotation-free.</summary>
    public long RotationCount => Products.RotationCount;
    public string ParametersDescription => Context.ToString();

    /// <summary>Contexts are expensive (NTT tables) and immutable: one per parameter set per process.</summary>
    private static CkksContext ContextFor(CkksSessionOptions options) =>
        Contexts.GetOrAdd($"{options.PolyModulusDegree}:{string.Join(",", options.PrimeBits)}",
            _ => new CkksContext(EncryptionParameters.Create(options.PolyModulusDegree, options.PrimeBits.ToArray())));

    public byte[] ExportPublicKeys() => Container.Write(CkksSerializer.Serialize(Context), CkksSerializer.Serialize(PublicKey), ExtraPublicMaterial());

    public void ImportPeerPublicKeys(byte[] publicKeys)
    {
        ArgumentNullException.ThrowIfNull(publicKeys);
        if (PeerPublicKey is not null) throw new InvalidOperationException("the peer's public keys were already imported for this session");
        ImportPeer(publicKeys);
    }

    public void ReplacePeerPublicKeys(byte[] publicKeys)
    {
        ArgumentNullException.ThrowIfNull(publicKeys);
        if (PeerPublicKey is null) throw new InvalidOperationException("the peer's public keys were never imported; nothing to replace");
        ImportPeer(publicKeys);
    }

    private void ImportPeer(byte[] publicKeys)
    {
        var parts = Container.Read(publicKeys, "key announcement");
        try
        {
            var peerContext = CkksSerializer.DeserializeContext(parts[0]);
            if (!peerContext.SameParameters(Context))
                throw new MalformedCipherBlockException($"key announcement: the peer uses CKKS parameters {peerContext}, this party {Context}");
            var publicKey = CkksSerializer.DeserializePublicKey(Context, parts[1]);
            ImportExtraPublicMaterial(parts[2]);
            PeerPublicKey = publicKey;
            PeerRerandomizer = new Rerandomizer(Context, publicKey);
        }
        catch (Exception e) when (e is CkksFormatException or CkksMismatchException)
        {
            throw new MalformedCipherBlockException($"key announcement: {e.Message}");
        }
    }

    /// <summary>Layout of X1's coefficient-packed batch-sum product; both parties derive it from the step's shape.</summary>
    protected CoefficientBatchSumPlan BatchSumPlan(int rows, int k, int d) => CoefficientBatchSumPlan.Choose(Context.N, rows, k, d);

    /// <summary>Public material beyond the public key (none: no evaluation keys are needed).</summary>
    protected virtual byte[] ExtraPublicMaterial() => Array.Empty<byte>();
    protected virtual void ImportExtraPublicMaterial(byte[] material)
    {
        if (material.Length != 0) throw new MalformedCipherBlockException("key announcement: unexpected extra key material from the peer");
    }

    protected void RequirePeer(string step)
    {
        if (PeerPublicKey is null) throw new InvalidOperationException($"{step}: the peer's public keys have not been imported (key announcement missing)");
    }

    protected ColumnPacking Layout(int rows, string step)
    {
        if (rows <= 0 || rows > Context.SlotCount)
            throw new MalformedCipherBlockException($"{step}: a batch of {rows} rows does not fit one ciphertext of {Context.SlotCount} slots; use batches of at most {Context.SlotCount} rows");
        return new ColumnPacking(Context.SlotCount, rows);
    }

    /// <summary>Encrypts the columns of <paramref name="matrix"/> (times <paramref name="factor"/>) under this party's key, seeded.</summary>
    protected CipherBlock EncryptColumns(DenseMatrix matrix, double factor)
    {
        var layout = Layout(matrix.Rows, "encrypt");
        var block = NewBlock(matrix.Rows, matrix.Cols, Packing.Columns);
        block.Parts.AddRange(InParallel(matrix.Cols, c =>
        {
            var column = new double[matrix.Rows];
            for (int r = 0; r < matrix.Rows; r++) column[r] = matrix.Values[r * matrix.Cols + c] * factor;
            var plaintext = Encoder.Encode(layout.PackColumn(column), InputScale, InputLevel);
            return ByteString.CopyFrom(CkksSerializer.Serialize(OwnEncryptor.EncryptSymmetric(plaintext)));
        }));
        return block;
    }

    /// <summary>Appends the coefficient-packed row blocks of <paramref name="matrix"/> (times <paramref name="factor"/>), seeded, under this party's key.</summary>
    protected void AppendCoefficientBlocks(CipherBlock block, DenseMatrix matrix, double factor, CoefficientBatchSumPlan plan)
    {
        block.Parts.AddRange(InParallel(plan.InputCount, x =>
        {
            var plaintext = Encoder.EncodeCoefficients(plan.PackInput(matrix.Values, factor, x / plan.OuterBlocks, x % plan.OuterBlocks), InputScale, InputLevel);
            return ByteString.CopyFrom(CkksSerializer.Serialize(OwnEncryptor.EncryptSymmetric(plaintext)));
        }));
    }

    /// <summary>body(0..count-1) on the session's workers; results in index order; the first failure is rethrown as itself.</summary>
    protected T[] InParallel<T>(int count, Func<int, T> body)
    {
        var results = new T[count];
        InParallel(count, i => { results[i] = body(i); });
        return results;
    }

    protected void InParallel(int count, Action<int> body)
    {
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Options.MaxDegreeOfParallelism }, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
    }

    protected Ciphertext[] ReadCiphertexts(CipherBlock block, string step, int rows, int cols, Packing packing, int parts, int level)
    {
        CipherBlocks.Require(block, step, SchemeName, rows, cols, packing, parts);
        return InParallel(parts, i =>
        {
            try
            {
                return CkksSerializer.DeserializeCiphertext(Context, block.Parts[i].Span, expectedLevel: level);
            }
            catch (Exception e) when (e is CkksFormatException or CkksMismatchException)
            {
                throw new MalformedCipherBlockException($"{step}: part {i} is not a valid ciphertext at level {level}: {e.Message}");
            }
        });
    }

    protected CipherBlock WriteCiphertexts(IReadOnlyList<Ciphertext> ciphertexts, int rows, int cols, Packing packing = Packing.Columns)
    {
        var block = NewBlock(rows, cols, packing);
        block.Parts.AddRange(InParallel(ciphertexts.Count, i => ByteString.CopyFrom(CkksSerializer.Serialize(ciphertexts[i]))));
        return block;
    }

    /// <summary>Rescales products once, re-randomises them under the peer's key and applies fresh ring masks.</summary>
    protected RingMask[] RescaleRerandomiseMask(Ciphertext[] products) => InParallel(products.Length, i =>
    {
        Evaluator.RescaleToNextInplace(products[i]);
        PeerRerandomizer!.RerandomizeInplace(products[i]);
        var mask = RingMask.Sample(Context, products[i].Level);
        mask.ApplyTo(products[i]);
        return mask;
    });

    /// <summary>
    /// F3/B4: decrypts each masked product ciphertext, adds Encode(own term · factor) laid out like the product, floods
    /// and returns the raw shares. Spends one release per ciphertext; refuses before decrypting if the budget is short.
    /// </summary>
    protected CipherBlock ReleaseShares(CipherBlock masked, string step, DenseMatrix ownTerm, double factor)
    {
        var layout = Layout(ownTerm.Rows, step);
        int parts = layout.OutputCiphertextCount(ownTerm.Cols);
        var ciphertexts = ReadCiphertexts(masked, step, ownTerm.Rows, ownTerm.Cols, Packing.Columns, parts, ProductLevel);
        if (Budget.Remaining < parts)
            throw new ReleaseBudgetExhaustedException(
                $"{step}: this key has {Budget.Remaining} of {Budget.Budget} releases left, the step needs {parts}; rotate the key pair");
        var block = NewBlock(ownTerm.Rows, ownTerm.Cols, Packing.ShareColumns);
        for (int g = 0; g < parts; g++)
        {
            var slots = new double[Context.SlotCount];
            for (int blk = 0; blk < layout.Blocks; blk++)
            {
                int j = g * layout.Blocks + blk;
                if (j >= ownTerm.Cols) break;
                for (int r = 0; r < ownTerm.Rows; r++) slots[blk * ownTerm.Rows + r] = ownTerm.Values[r * ownTerm.Cols + j] * factor;
            }
            var own = Encoder.Encode(slots, ciphertexts[g].Scale, ciphertexts[g].Level);
            try
            {
                block.Parts.Add(ByteString.CopyFrom(_releaser.ReleaseSerialized(ciphertexts[g], own)));
            }
            catch (CkksBudgetExhausted e)
            {
                throw new ReleaseBudgetExhaustedException($"{step}: {e.Message}");
            }
        }
        return block;
    }

    /// <summary>F4/B5: removes this party's ring masks from the released shares and decodes the rows x cols matrix (divided by <paramref name="divisor"/>).</summary>
    protected DenseMatrix UnmaskShares(CipherBlock shares, string step, RingMask[] masks, int rows, int cols, double divisor)
    {
        var layout = Layout(rows, step);
        int parts = layout.OutputCiphertextCount(cols);
        CipherBlocks.Require(shares, step, SchemeName, rows, cols, Packing.ShareColumns, parts);
        if (masks.Length != parts) throw new InvalidOperationException($"{step}: {masks.Length} masks pending for {parts} shares");
        var decoded = new double[parts][];
        for (int g = 0; g < parts; g++)
        {
            try
            {
                var share = CkksSerializer.DeserializePlaintext(Context, shares.Parts[g].Span, expectedLevel: masks[g].Level);
                decoded[g] = masks[g].Unmask(share, Encoder);
            }
            catch (Exception e) when (e is CkksFormatException or CkksMismatchException)
            {
                throw new MalformedCipherBlockException($"{step}: share {g} is not a valid plaintext at level {masks[g].Level}: {e.Message}");
            }
        }
        var values = layout.UnpackOutputs(decoded, cols);
        if (divisor != 1) for (int i = 0; i < values.Length; i++) values[i] /= divisor;
        return new DenseMatrix(rows, cols, values);
    }

    protected double[] DecryptCoefficients(Ciphertext ciphertext)
    {
        var coefficients = new double[Context.N];
        Encoder.DecodeCoefficients(_decryptor.Decrypt(ciphertext), coefficients);
        return coefficients;
    }

    /// <summary>Tests only: what this key owner sees when it decrypts a received part (no release, no flooding).</summary>
    internal Plaintext DecryptPartForTests(ByteString part, int level) =>
        _decryptor.Decrypt(CkksSerializer.DeserializeCiphertext(Context, part.Span, expectedLevel: level));

    internal CkksContext ContextForTests => Context;
    internal CkksEncoder EncoderForTests => Encoder;

    protected SecretKey SecretKey => _keys.SecretKey;
    protected KeyGenerator KeyGenerator => _keys;

    private static CipherBlock NewBlock(int rows, int cols, Packing packing) =>
        new() { Scheme = SchemeName, Rows = (uint)rows, Cols = (uint)cols, Packing = packing };

    public void Dispose()
    {
        _keys.SecretKey.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Length-prefixed byte strings: the public-key announcement's container.</summary>
    private static class Container
    {
        public static byte[] Write(params byte[][] parts)
        {
            var result = new byte[4 + parts.Sum(p => 4 + p.Length)];
            BinaryPrimitives.WriteInt32LittleEndian(result, parts.Length);
            int offset = 4;
            foreach (var part in parts)
            {
                BinaryPrimitives.WriteInt32LittleEndian(result.AsSpan(offset), part.Length);
                part.CopyTo(result, offset + 4);
                offset += 4 + part.Length;
            }
            return result;
        }

        public static byte[][] Read(byte[] data, string what)
        {
            if (data.Length < 4) throw new MalformedCipherBlockException($"{what}: {data.Length} bytes is too short for the key container");
            int count = BinaryPrimitives.ReadInt32LittleEndian(data);
            if (count != 3) throw new MalformedCipherBlockException($"{what}: expected 3 parts (parameters, public key, extra), got {count}");
            var parts = new byte[count][];
            int offset = 4;
            for (int i = 0; i < count; i++)
            {
                if (offset + 4 > data.Length) throw new MalformedCipherBlockException($"{what}: part {i} is truncated");
                int length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset));
                if (length < 0 || offset + 4 + length > data.Length) throw new MalformedCipherBlockException($"{what}: part {i} declares {length} bytes beyond the end");
                parts[i] = data.AsSpan(offset + 4, length).ToArray();
                offset += 4 + length;
            }
            if (offset != data.Length) throw new MalformedCipherBlockException($"{what}: {data.Length - offset} trailing bytes");
            return parts;
        }
    }
}
