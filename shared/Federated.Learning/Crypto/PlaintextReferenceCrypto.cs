using System.Text;
using Federated.Learning.Protocol.V1;
using Google.Protobuf;
using static TorchSharp.torch;

namespace Federated.Learning.Crypto;

/// <summary>Settings of the plaintext reference backend. It protects nothing and must be acknowledged as such.</summary>
public sealed record PlaintextReferenceOptions
{
    /// <summary>Must be true: the reference mode sends α, the products and the gradients unencrypted.</summary>
    public bool AcknowledgeInsecure { get; init; }

    /// <summary>Half-width of the additive masks standing in for ring masks (they cancel; they keep the flow real).</summary>
    public double MaskAmplitude { get; init; } = 1024.0;

    /// <summary>Standard deviation of the Gaussian standing in for noise flooding; 0 for exact equivalence tests.</summary>
    public double FloodingStd { get; init; }

    /// <summary>Releases allowed per key, mirroring the CKKS flooding budget so the flow (and its errors) is the same.</summary>
    public long ReleaseBudget { get; init; } = 1L << 16;

    /// <summary>Seed of the mask and flooding generator (each party's session should get its own).</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>
/// The plaintext reference backend: the same messages, shapes and masks as the encrypted protocol, with encryption
/// replaced by identity and re-randomisation by nothing. For equivalence tests and for measuring the cost of
/// encryption; INSECURE. Construction refuses without <see cref="PlaintextReferenceOptions.AcknowledgeInsecure"/>.
/// </summary>
public abstract class PlaintextReferenceSession : IInteractiveLayerCryptoSession
{
    public const string SchemeName = "plaintext-reference/v1";
    private static readonly byte[] PublicMarker = Encoding.ASCII.GetBytes(SchemeName);

    private readonly Random _random;
    private bool _peerImported;

    protected PlaintextReferenceSession(PlaintextReferenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.AcknowledgeInsecure)
            throw new InvalidOperationException(
                "The plaintext reference mode sends the interactive layer's values UNENCRYPTED; it refuses to start unless " +
                "PlaintextReferenceOptions.AcknowledgeInsecure is true (equivalence tests and overhead measurement only).");
        if (!(options.MaskAmplitude > 0)) throw new ArgumentOutOfRangeException(nameof(options), "MaskAmplitude must be positive");
        if (options.FloodingStd < 0) throw new ArgumentOutOfRangeException(nameof(options), "FloodingStd must not be negative");
        if (options.ReleaseBudget <= 0) throw new ArgumentOutOfRangeException(nameof(options), "ReleaseBudget must be positive");
        Options = options;
        _random = new Random(options.Seed);
    }

    protected PlaintextReferenceOptions Options { get; }

    public CryptoMode Mode => CryptoMode.PlaintextReference;
    public string Scheme => SchemeName;
    public long ReleasesUsed { get; private set; }
    public long ReleaseBudget => Options.ReleaseBudget;
    public int KeyRotations { get; private set; }

    /// <summary>One release per block: the reference has no ciphertexts, so a released matrix counts once.</summary>
    public int ReleasesPerShare(int rows, int cols) => 1;

    public void RotateKeys()
    {
        ReleasesUsed = 0;
        KeyRotations++;
    }

    public void ReplacePeerPublicKeys(byte[] publicKeys)
    {
        ArgumentNullException.ThrowIfNull(publicKeys);
        if (!_peerImported) throw new InvalidOperationException("the peer's public keys were never imported; nothing to replace");
        if (!publicKeys.AsSpan().SequenceEqual(PublicMarker))
            throw new MalformedCipherBlockException($"key rotation: the peer's keys are not for scheme '{SchemeName}'");
    }

    public byte[] ExportPublicKeys() => (byte[])PublicMarker.Clone();

    public void ImportPeerPublicKeys(byte[] publicKeys)
    {
        ArgumentNullException.ThrowIfNull(publicKeys);
        if (_peerImported) throw new InvalidOperationException("the peer's public keys were already imported for this session");
        if (!publicKeys.AsSpan().SequenceEqual(PublicMarker))
            throw new MalformedCipherBlockException($"key announcement: the peer's keys are not for scheme '{SchemeName}'");
        _peerImported = true;
    }

    protected void RequirePeer(string step)
    {
        if (!_peerImported) throw new InvalidOperationException($"{step}: the peer's public keys have not been imported (key announcement missing)");
    }

    protected void SpendRelease(string step)
    {
        if (ReleasesUsed >= Options.ReleaseBudget)
            throw new ReleaseBudgetExhaustedException(
                $"{step}: this key has made all {Options.ReleaseBudget} releases its flooding width allows; rotate the key pair");
        ReleasesUsed++;
    }

    protected CipherBlock Encode(DenseMatrix matrix, Packing packing)
    {
        var block = new CipherBlock { Scheme = SchemeName, Rows = (uint)matrix.Rows, Cols = (uint)matrix.Cols, Packing = packing };
        for (int c = 0; c < matrix.Cols; c++) block.Parts.Add(CipherBlocks.EncodeDoubles(matrix.Column(c)));
        return block;
    }

    protected static DenseMatrix Decode(CipherBlock block, string step, int rows, int cols, Packing packing)
    {
        CipherBlocks.Require(block, step, SchemeName, rows, cols, packing, cols);
        var columns = new double[cols][];
        for (int c = 0; c < cols; c++) columns[c] = CipherBlocks.DecodeDoubles(block.Parts[c], rows, step, c);
        return DenseMatrix.FromColumns(rows, columns);
    }

    /// <summary>A fresh additive mask, the stand-in for a uniform ring element.</summary>
    protected DenseMatrix NewMask(int rows, int cols)
    {
        var values = new double[(long)rows * cols];
        for (int i = 0; i < values.Length; i++) values[i] = (2 * _random.NextDouble() - 1) * Options.MaskAmplitude;
        return new DenseMatrix(rows, cols, values);
    }

    protected void AddFlooding(double[] values)
    {
        if (Options.FloodingStd == 0) return;
        for (int i = 0; i < values.Length; i++)
        {
            double u1 = 1.0 - _random.NextDouble(), u2 = _random.NextDouble();
            values[i] += Options.FloodingStd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
    }

    protected static DenseMatrix Add(DenseMatrix a, DenseMatrix b, double sign = 1)
    {
        var values = new double[a.Values.Length];
        for (int i = 0; i < values.Length; i++) values[i] = a.Values[i] + sign * b.Values[i];
        return new DenseMatrix(a.Rows, a.Cols, values);
    }

    /// <summary>left · right, or left · rightᵀ, or leftᵀ · right, in float64.</summary>
    protected static DenseMatrix Multiply(DenseMatrix left, DenseMatrix right, bool transposeLeft = false, bool transposeRight = false)
    {
        using var scope = NewDisposeScope();
        var l = left.ToTensor();
        var r = right.ToTensor();
        if (transposeLeft) l = l.t();
        if (transposeRight) r = r.t();
        return DenseMatrix.FromTensor(l.mm(r));
    }

    public void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>E's plaintext reference session.</summary>
public sealed class PlaintextReferenceExternalSession(PlaintextReferenceOptions options)
    : PlaintextReferenceSession(options), IExternalPartyCryptoSession
{
    private DenseMatrix? _backwardMask;

    public CipherBlock EncryptActivations(DenseMatrix alpha)
    {
        RequirePeer("F1");
        return Encode(alpha, Packing.Columns);
    }

    public CipherBlock OpenForwardShare(CipherBlock maskedProduct, DenseMatrix alphaTimesA)
    {
        RequirePeer("F3");
        var share = Decode(maskedProduct, "F3 (masked product from F2)", alphaTimesA.Rows, alphaTimesA.Cols, Packing.Columns);
        SpendRelease("F3");
        var released = Add(share, alphaTimesA);
        AddFlooding(released.Values);
        return Encode(released, Packing.ShareColumns);
    }

    public (CipherBlock WeightGradient, CipherBlock MaskedInputGradient) ComputeBackward(
        CipherBlock encryptedDelta, DenseMatrix alpha, DenseMatrix weightHalfA, DenseMatrix xiOverEta)
    {
        RequirePeer("B3");
        int batch = alpha.Rows, k = alpha.Cols, d = weightHalfA.Cols;
        weightHalfA.RequireShape(k, d, "B3 weight half A");
        xiOverEta.RequireShape(k, d, "B3 Ξ/η");
        var delta = Decode(encryptedDelta, "B3 (δ̃ from B2)", batch, d, Packing.Columns);

        var weightGradient = Add(Multiply(alpha, delta, transposeLeft: true), xiOverEta);
        AddFlooding(weightGradient.Values);
        _backwardMask = NewMask(batch, k);
        var maskedInputGradient = Add(Multiply(delta, weightHalfA, transposeRight: true), _backwardMask);
        return (Encode(weightGradient, Packing.Columns), Encode(maskedInputGradient, Packing.Columns));
    }

    public DenseMatrix CloseBackwardShare(CipherBlock share)
    {
        RequirePeer("B5");
        var mask = _backwardMask ?? throw new InvalidOperationException("B5: no backward mask is pending (B3 was not computed for this step)");
        var opened = Decode(share, "B5 (share from B4)", mask.Rows, mask.Cols, Packing.ShareColumns);
        _backwardMask = null;
        return Add(opened, mask, -1);
    }
}

/// <summary>M's plaintext reference session.</summary>
public sealed class PlaintextReferenceMusicSession(PlaintextReferenceOptions options)
    : PlaintextReferenceSession(options), IMusicPartyCryptoSession
{
    private DenseMatrix? _forwardMask;

    public CipherBlock ComputeForward(CipherBlock encryptedAlpha, DenseMatrix weightHalfM)
    {
        RequirePeer("F2");
        if (encryptedAlpha is null) throw new MalformedCipherBlockException("F2 (α from F1): the block is missing");
        var alpha = Decode(encryptedAlpha, "F2 (α from F1)", (int)encryptedAlpha.Rows, weightHalfM.Rows, Packing.Columns);
        _forwardMask = NewMask(alpha.Rows, weightHalfM.Cols);
        return Encode(Add(Multiply(alpha, weightHalfM), _forwardMask), Packing.Columns);
    }

    public DenseMatrix CloseForwardShare(CipherBlock share)
    {
        RequirePeer("F4");
        var mask = _forwardMask ?? throw new InvalidOperationException("F4: no forward mask is pending (F2 was not computed for this step)");
        var opened = Decode(share, "F4 (share from F3)", mask.Rows, mask.Cols, Packing.ShareColumns);
        _forwardMask = null;
        return Add(opened, mask, -1);
    }

    public CipherBlock EncryptGradient(DenseMatrix deltaTilde)
    {
        RequirePeer("B2");
        return Encode(deltaTilde, Packing.Columns);
    }

    public DenseMatrix DecryptWeightGradient(CipherBlock weightGradient)
    {
        RequirePeer("B5");
        if (weightGradient is null) throw new MalformedCipherBlockException("B5 (X1 from B3): the block is missing");
        return Decode(weightGradient, "B5 (X1 from B3)", (int)weightGradient.Rows, (int)weightGradient.Cols, Packing.Columns);
    }

    public CipherBlock OpenBackwardShare(CipherBlock maskedInputGradient, DenseMatrix deltaTimesWmTransposed)
    {
        RequirePeer("B4");
        var share = Decode(maskedInputGradient, "B4 (X2 from B3)", deltaTimesWmTransposed.Rows, deltaTimesWmTransposed.Cols, Packing.Columns);
        SpendRelease("B4");
        var released = Add(share, deltaTimesWmTransposed);
        AddFlooding(released.Values);
        return Encode(released, Packing.ShareColumns);
    }
}
