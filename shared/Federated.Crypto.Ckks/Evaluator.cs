using System.Buffers;
using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Keys;

namespace Federated.Crypto.Ckks;

/// <summary>
/// Homomorphic operations on ciphertexts in NTT form. Operands must share parameters, level and scale (relative
/// tolerance <see cref="ScaleTolerance"/>); violations throw <see cref="CkksMismatchException"/> naming both values.
/// Methods ending in Inplace overwrite their first argument; the others return a new ciphertext. Thread-safe.
/// </summary>
public sealed class Evaluator
{
    public const double ScaleTolerance = 1e-9;
    private readonly CkksContext _ctx;
    private long _rotations;

    public Evaluator(CkksContext context) => _ctx = context ?? throw new ArgumentNullException(nameof(context));

    public CkksContext Context => _ctx;
    /// <summary>Number of key-switched rotations performed by this evaluator.</summary>
    public long RotationCount => Interlocked.Read(ref _rotations);
    public void ResetRotationCount() => Interlocked.Exchange(ref _rotations, 0);

    // ---------------------------------------------------------------- checks

    private void CheckOwn(Ciphertext a, string name)
    {
        ArgumentNullException.ThrowIfNull(a, name);
        if (!a.Context.SameParameters(_ctx)) throw new CkksMismatchException($"{name} belongs to different parameters ({a.Context}) than this evaluator ({_ctx})");
    }

    private void CheckOwn(Plaintext a, string name)
    {
        ArgumentNullException.ThrowIfNull(a, name);
        if (!a.Context.SameParameters(_ctx)) throw new CkksMismatchException($"{name} belongs to different parameters ({a.Context}) than this evaluator ({_ctx})");
    }

    private static void CheckLevels(int la, int lb, string what)
    {
        if (la != lb) throw new CkksMismatchException($"{what}: level mismatch ({la} vs {lb}); mod-switch the higher operand down first");
    }

    internal static void CheckScales(double sa, double sb, string what)
    {
        if (Math.Abs(sa - sb) > ScaleTolerance * Math.Max(sa, sb))
            throw new CkksMismatchException($"{what}: scale mismatch (2^{Math.Log2(sa):F4} vs 2^{Math.Log2(sb):F4})");
    }

    private void CheckScaleFits(double scale, int level, string what)
    {
        double logQ = _ctx.LogModulusAtLevel(level);
        if (Math.Log2(scale) >= logQ - 1)
            throw new CkksMismatchException($"{what}: resulting scale 2^{Math.Log2(scale):F1} leaves no room in the modulus at level {level} (2^{logQ:F1}); rescale first");
    }

    // ---------------------------------------------------------------- additive ops

    public Ciphertext Add(Ciphertext a, Ciphertext b) { var r = a.Clone(); AddInplace(r, b); return r; }
    public Ciphertext Sub(Ciphertext a, Ciphertext b) { var r = a.Clone(); SubInplace(r, b); return r; }
    public Ciphertext Negate(Ciphertext a) { var r = a.Clone(); NegateInplace(r); return r; }
    public Ciphertext AddPlain(Ciphertext a, Plaintext p) { var r = a.Clone(); AddPlainInplace(r, p); return r; }
    public Ciphertext SubPlain(Ciphertext a, Plaintext p) { var r = a.Clone(); SubPlainInplace(r, p); return r; }
    public Ciphertext MultiplyPlain(Ciphertext a, Plaintext p) { var r = a.Clone(); MultiplyPlainInplace(r, p); return r; }

    /// <summary>destination = a + b (destination may be a or b; no allocation when it is large enough).</summary>
    public void Add(Ciphertext a, Ciphertext b, Ciphertext destination)
    {
        CheckOwn(a, nameof(a)); CheckOwn(b, nameof(b)); CheckOwn(destination, nameof(destination));
        CheckLevels(a.Level, b.Level, "add"); CheckScales(a.Scale, b.Scale, "add");
        PrepareDestination(a, destination);
        for (int poly = 0; poly < 2; poly++)
            for (int i = 0; i <= a.Level; i++)
            {
                Modulus q = _ctx.Moduli[i];
                ReadOnlySpan<ulong> x = a.Component(poly, i), y = b.Component(poly, i);
                Span<ulong> d = destination.Component(poly, i);
                ulong v = q.Value;
                for (int j = RnsKernels.Add(x, y, d, v); j < d.Length; j++) d[j] = Modulus.ConditionalSubtract(x[j] + y[j], v);
            }
    }

    /// <summary>destination = a * p slot-wise (destination may be a).</summary>
    public void MultiplyPlain(Ciphertext a, Plaintext p, Ciphertext destination)
    {
        CheckOwn(a, nameof(a)); CheckOwn(p, nameof(p)); CheckOwn(destination, nameof(destination));
        CheckLevels(a.Level, p.Level, "multiply_plain");
        double scale = a.Scale * p.Scale;
        CheckScaleFits(scale, a.Level, "multiply_plain");
        PrepareDestination(a, destination);
        for (int poly = 0; poly < 2; poly++)
            for (int i = 0; i <= a.Level; i++)
                RnsOps.MultiplyPointwise(a.Component(poly, i), p.Component(i), destination.Component(poly, i), _ctx.Moduli[i]);
        destination.Scale = scale;
    }

    /// <summary>destination = a + p (destination may be a).</summary>
    public void AddPlain(Ciphertext a, Plaintext p, Ciphertext destination)
    {
        CheckOwn(a, nameof(a)); CheckOwn(p, nameof(p)); CheckOwn(destination, nameof(destination));
        CheckLevels(a.Level, p.Level, "add_plain"); CheckScales(a.Scale, p.Scale, "add_plain");
        bool same = ReferenceEquals(a, destination);
        PrepareDestination(a, destination);
        if (!same) a.C1.CopyTo(destination.C1);
        for (int i = 0; i <= a.Level; i++)
        {
            Modulus q = _ctx.Moduli[i];
            ReadOnlySpan<ulong> x = a.Component(0, i), y = p.Component(i);
            Span<ulong> d = destination.Component(0, i);
            ulong v = q.Value;
            for (int j = RnsKernels.Add(x, y, d, v); j < d.Length; j++) d[j] = Modulus.ConditionalSubtract(x[j] + y[j], v);
        }
        if (!same) destination.Seed = a.Seed;
    }

    /// <summary>destination = a * round(w * 2^bits), scale * 2^bits (destination may be a).</summary>
    public void MultiplyScalar(Ciphertext a, double w, int bits, Ciphertext destination)
    {
        CheckOwn(a, nameof(a)); CheckOwn(destination, nameof(destination));
        long integer = ScalarToInteger(w, bits);
        double scale = a.Scale * Math.Pow(2, bits);
        CheckScaleFits(scale, a.Level, "multiply_scalar");
        PrepareDestination(a, destination);
        for (int i = 0; i <= a.Level; i++)
        {
            Modulus q = _ctx.Moduli[i];
            ulong wq = q.FromSigned(integer), ws = q.ShoupPrecompute(wq);
            for (int poly = 0; poly < 2; poly++)
            {
                ReadOnlySpan<ulong> x = a.Component(poly, i);
                Span<ulong> d = destination.Component(poly, i);
                for (int j = RnsKernels.MultiplyShoup(x, wq, ws, d, q.Value); j < d.Length; j++) d[j] = q.MultiplyShoup(x[j], wq, ws);
            }
        }
        destination.Scale = scale;
    }

    /// <summary>Gives destination a's level and scale without touching a when they are the same object.</summary>
    private static void PrepareDestination(Ciphertext a, Ciphertext destination)
    {
        if (ReferenceEquals(a, destination)) { a.Seed = null; return; }
        destination.Reshape(a.Level, a.Scale);
    }

    public void AddInplace(Ciphertext a, Ciphertext b)
    {
        CheckOwn(a, nameof(a)); CheckOwn(b, nameof(b));
        CheckLevels(a.Level, b.Level, "add"); CheckScales(a.Scale, b.Scale, "add");
        for (int poly = 0; poly < 2; poly++)
            for (int i = 0; i <= a.Level; i++) RnsOps.AddInto(a.Component(poly, i), b.Component(poly, i), _ctx.Moduli[i]);
        a.Seed = null;
    }

    public void SubInplace(Ciphertext a, Ciphertext b)
    {
        CheckOwn(a, nameof(a)); CheckOwn(b, nameof(b));
        CheckLevels(a.Level, b.Level, "sub"); CheckScales(a.Scale, b.Scale, "sub");
        for (int poly = 0; poly < 2; poly++)
            for (int i = 0; i <= a.Level; i++) RnsOps.SubInto(a.Component(poly, i), b.Component(poly, i), _ctx.Moduli[i]);
        a.Seed = null;
    }

    public void NegateInplace(Ciphertext a)
    {
        CheckOwn(a, nameof(a));
        for (int poly = 0; poly < 2; poly++)
            for (int i = 0; i <= a.Level; i++) RnsOps.NegateInPlace(a.Component(poly, i), _ctx.Moduli[i]);
        a.Seed = null;
    }

    public void AddPlainInplace(Ciphertext a, Plaintext p)
    {
        CheckOwn(a, nameof(a)); CheckOwn(p, nameof(p));
        CheckLevels(a.Level, p.Level, "add_plain"); CheckScales(a.Scale, p.Scale, "add_plain");
        for (int i = 0; i <= a.Level; i++) RnsOps.AddInto(a.Component(0, i), p.Component(i), _ctx.Moduli[i]);
    }

    public void SubPlainInplace(Ciphertext a, Plaintext p)
    {
        CheckOwn(a, nameof(a)); CheckOwn(p, nameof(p));
        CheckLevels(a.Level, p.Level, "sub_plain"); CheckScales(a.Scale, p.Scale, "sub_plain");
        for (int i = 0; i <= a.Level; i++) RnsOps.SubInto(a.Component(0, i), p.Component(i), _ctx.Moduli[i]);
    }

    // ---------------------------------------------------------------- multiplicative ops

    /// <summary>Slot-wise product with a plaintext; the scale becomes the product of both scales.</summary>
    public void MultiplyPlainInplace(Ciphertext a, Plaintext p)
    {
        CheckOwn(a, nameof(a)); CheckOwn(p, nameof(p));
        CheckLevels(a.Level, p.Level, "multiply_plain");
        double scale = a.Scale * p.Scale;
        CheckScaleFits(scale, a.Level, "multiply_plain");
        for (int poly = 0; poly < 2; poly++)
            for (int i = 0; i <= a.Level; i++)
            {
                Span<ulong> c = a.Component(poly, i);
                RnsOps.MultiplyPointwise(c, p.Component(i), c, _ctx.Moduli[i]);
            }
        a.Scale = scale;
        a.Seed = null;
    }

    /// <summary>
    /// Multiplies every slot by w, as the integer round(w * 2^bits) applied directly to the RNS coefficients (no
    /// encoded plaintext); the scale is multiplied by 2^bits. |w| * 2^bits must stay below 2^62.
    /// </summary>
    public void MultiplyScalarInplace(Ciphertext a, double w, int bits)
    {
        CheckOwn(a, nameof(a));
        long integer = ScalarToInteger(w, bits);
        double scale = a.Scale * Math.Pow(2, bits);
        CheckScaleFits(scale, a.Level, "multiply_scalar");
        MultiplyIntegerInplace(a, integer);
        a.Scale = scale;
    }

    public Ciphertext MultiplyScalar(Ciphertext a, double w, int bits) { var r = a.Clone(); MultiplyScalarInplace(r, w, bits); return r; }

    /// <summary>round(w * 2^bits) as a signed integer, with a clear error when it does not fit.</summary>
    public static long ScalarToInteger(double w, int bits)
    {
        if (bits < 0 || bits > 61) throw new ArgumentOutOfRangeException(nameof(bits), $"scalar bits must be in [0, 61], got {bits}");
        double v = Math.Round(w * Math.Pow(2, bits));
        if (double.IsNaN(v) || Math.Abs(v) >= 4.6e18)
            throw new ArgumentOutOfRangeException(nameof(w), $"scalar {w} * 2^{bits} does not fit in 62 bits");
        return (long)v;
    }

    /// <summary>Multiplies by a signed integer; the scale is unchanged.</summary>
    public void MultiplyIntegerInplace(Ciphertext a, long integer)
    {
        CheckOwn(a, nameof(a));
        for (int i = 0; i <= a.Level; i++)
        {
            Modulus q = _ctx.Moduli[i];
            ulong w = q.FromSigned(integer);
            RnsOps.MultiplyScalar(a.Component(0, i), w, q);
            RnsOps.MultiplyScalar(a.Component(1, i), w, q);
        }
        a.Seed = null;
    }

    // ---------------------------------------------------------------- level management

    /// <summary>Divides by the last prime of the level (rounding) and drops it; the scale is divided by that prime.</summary>
    public void RescaleToNextInplace(Ciphertext a)
    {
        CheckOwn(a, nameof(a));
        if (a.Level == 0) throw new CkksMismatchException("rescale: the ciphertext is at level 0, no prime left to divide by");
        int l = a.Level;
        int[] idx = new int[l + 1];
        for (int i = 0; i <= l; i++) idx[i] = i;
        RnsOps.DivideRoundByLast(_ctx, a.C0, idx);
        RnsOps.DivideRoundByLast(_ctx, a.C1, idx);
        a.TruncateToLevel(l - 1);
        a.Scale /= _ctx.Moduli[l].Value;
        a.Seed = null;
    }

    public Ciphertext RescaleToNext(Ciphertext a) { var r = a.Clone(); RescaleToNextInplace(r); return r; }

    /// <summary>Drops the last prime without dividing (value and scale unchanged, one level lower).</summary>
    public void ModSwitchToNextInplace(Ciphertext a)
    {
        CheckOwn(a, nameof(a));
        if (a.Level == 0) throw new CkksMismatchException("mod_switch: the ciphertext is at level 0");
        a.TruncateToLevel(a.Level - 1);
    }

    public void ModSwitchToInplace(Ciphertext a, int level)
    {
        CheckOwn(a, nameof(a));
        _ctx.CheckLevel(level);
        if (level > a.Level) throw new CkksMismatchException($"mod_switch: cannot raise a ciphertext from level {a.Level} to {level}");
        if (level < a.Level) a.TruncateToLevel(level);
    }

    public void ModSwitchToInplace(Plaintext p, int level)
    {
        CheckOwn(p, nameof(p));
        p.DropToLevel(level);
    }

    // ---------------------------------------------------------------- rotation

    /// <summary>Rotates the slots left by <paramref name="step"/> (negative = right) with the matching Galois key.</summary>
    public Ciphertext Rotate(Ciphertext a, int step, GaloisKeys keys)
    {
        var r = new Ciphertext(_ctx, a.Level, a.Scale);
        Rotate(a, step, keys, r);
        return r;
    }

    public void RotateInplace(Ciphertext a, int step, GaloisKeys keys)
    {
        var tmp = Rotate(a, step, keys);
        tmp.CopyTo(a);
    }

    /// <summary>Rotation into a separate destination (must not be the source).</summary>
    public void Rotate(Ciphertext a, int step, GaloisKeys keys, Ciphertext destination)
    {
        CheckOwn(a, nameof(a));
        ArgumentNullException.ThrowIfNull(keys);
        if (ReferenceEquals(a, destination)) throw new ArgumentException("destination must differ from the source; use RotateInplace");
        if (!keys.Context.SameParameters(_ctx)) throw new CkksMismatchException("Galois keys belong to different parameters");
        if (step % _ctx.SlotCount == 0) { a.CopyTo(destination); return; }
        int g = _ctx.GaloisElementForStep(step);
        if (!keys.Keys.TryGetValue(g, out var ksk))
            throw new CkksMismatchException($"no Galois key for rotation step {step} (Galois element {g}); generate it with KeyGenerator.CreateGaloisKeys");
        destination.Reshape(a.Level, a.Scale);
        int[] perm = _ctx.GaloisPermutation(g);
        int n = _ctx.N;
        for (int poly = 0; poly < 2; poly++)
            for (int i = 0; i <= a.Level; i++)
            {
                ReadOnlySpan<ulong> src = a.Component(poly, i);
                Span<ulong> dst = destination.Component(poly, i);
                for (int k = 0; k < n; k++) dst[k] = src[perm[k]];
            }
        SwitchKeyInplace(destination, ksk);
        Interlocked.Increment(ref _rotations);
    }

    /// <summary>
    /// The RNS digits of c1 lifted to every prime of the level plus the special prime, in NTT form: computed once
    /// and shared by several rotations of the same ciphertext (hoisting), since the automorphism commutes with
    /// the lift and is a permutation in the NTT domain.
    /// </summary>
    public sealed class HoistedDigits : IDisposable
    {
        internal HoistedDigits(Ciphertext source, ulong[] digits) { Source = source; Digits = digits; }
        internal Ciphertext Source { get; }
        internal ulong[] Digits { get; private set; } // [digit j][target t] N values each, pooled

        /// <summary>Returns the pooled digit buffer; the object must not be used afterwards.</summary>
        public void Dispose()
        {
            if (Digits.Length == 0) return;
            ArrayPool<ulong>.Shared.Return(Digits);
            Digits = [];
        }
    }

    /// <summary>Decomposes c1 once for several rotations of <paramref name="a"/>; dispose the result after use.</summary>
    public HoistedDigits Hoist(Ciphertext a)
    {
        CheckOwn(a, nameof(a));
        int n = _ctx.N, k = a.Level + 1, total = k + 1;
        var digits = ArrayPool<ulong>.Shared.Rent(k * total * n);
        ulong[] coeffArr = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            Span<ulong> coeffs = coeffArr.AsSpan(0, n);
            for (int j = 0; j < k; j++)
            {
                a.Component(1, j).CopyTo(coeffs);
                _ctx.Ntt[j].Inverse(coeffs);
                for (int t = 0; t < total; t++)
                {
                    int idx = t < k ? t : _ctx.SpecialIndex;
                    Span<ulong> dst = digits.AsSpan((j * total + t) * n, n);
                    if (idx == j) { a.Component(1, j).CopyTo(dst); continue; }
                    Modulus q = _ctx.Moduli[idx];
                    for (int x = 0; x < n; x++) dst[x] = q.Reduce(coeffs[x]);
                    _ctx.Ntt[idx].Forward(dst);
                }
            }
        }
        finally { ArrayPool<ulong>.Shared.Return(coeffArr); }
        return new HoistedDigits(a, digits);
    }

    /// <summary>Rotation of the hoisted ciphertext: only the automorphism, the products and the division by P remain.</summary>
    public void RotateHoisted(HoistedDigits hoisted, int step, GaloisKeys keys, Ciphertext destination)
    {
        ArgumentNullException.ThrowIfNull(hoisted);
        if (hoisted.Digits.Length == 0) throw new ObjectDisposedException(nameof(HoistedDigits));
        var a = hoisted.Source;
        if (ReferenceEquals(a, destination)) throw new ArgumentException("destination must differ from the source");
        if (!keys.Context.SameParameters(_ctx)) throw new CkksMismatchException("Galois keys belong to different parameters");
        if (step % _ctx.SlotCount == 0) { a.CopyTo(destination); return; }
        int g = _ctx.GaloisElementForStep(step);
        if (!keys.Keys.TryGetValue(g, out var key))
            throw new CkksMismatchException($"no Galois key for rotation step {step} (Galois element {g}); generate it with KeyGenerator.CreateGaloisKeys");
        int[] perm = _ctx.GaloisPermutation(g);
        int n = _ctx.N, k = a.Level + 1, total = k + 1;
        destination.Reshape(a.Level, a.Scale);
        int[] primeIdx = KeySwitchPrimes(k);
        ulong[] pool = ArrayPool<ulong>.Shared.Rent((2 * total + 4) * n);
        try
        {
            Span<ulong> acc0 = pool.AsSpan(0, total * n), acc1 = pool.AsSpan(total * n, total * n);
            KeySwitchProducts(new PrecomputedDigits(hoisted.Digits, total, n), k, primeIdx, perm, key, acc0, acc1, pool.AsSpan(2 * total * n, 4 * n));
            for (int i = 0; i < k; i++)
            {
                Modulus q = _ctx.Moduli[i];
                ReadOnlySpan<ulong> c0 = a.Component(0, i), s0 = acc0.Slice(i * n, n);
                Span<ulong> d0 = destination.Component(0, i);
                for (int x = 0; x < n; x++) d0[x] = q.Add(c0[perm[x]], s0[x]);
                acc1.Slice(i * n, n).CopyTo(destination.Component(1, i));
            }
        }
        finally { ArrayPool<ulong>.Shared.Return(pool); }
        Interlocked.Increment(ref _rotations);
    }

    /// <summary>Replaces (c0, c1) under s' by (c0 + ks0, ks1) under s, where ks = keyswitch(c1).</summary>
    internal void SwitchKeyInplace(Ciphertext ct, KeySwitchKey key)
    {
        int n = _ctx.N, l = ct.Level, k = l + 1, total = k + 1;
        int[] primeIdx = KeySwitchPrimes(k);
        ulong[] pool = ArrayPool<ulong>.Shared.Rent((k + 2 * total + 5) * n);
        try
        {
            Span<ulong> coeffs = pool.AsSpan(0, k * n);
            Span<ulong> acc0 = pool.AsSpan(k * n, total * n);
            Span<ulong> acc1 = pool.AsSpan((k + total) * n, total * n);
            Span<ulong> buf = pool.AsSpan((k + 2 * total) * n, n);
            ct.C1.CopyTo(coeffs);
            for (int j = 0; j < k; j++) _ctx.Ntt[j].Inverse(coeffs.Slice(j * n, n));
            KeySwitchProducts(new LiftedDigits(_ctx, ct, coeffs, buf), k, primeIdx, default, key, acc0, acc1, pool.AsSpan((k + 2 * total + 1) * n, 4 * n));
            for (int i = 0; i < k; i++)
            {
                RnsOps.AddInto(ct.Component(0, i), acc0.Slice(i * n, n), _ctx.Moduli[i]);
                acc1.Slice(i * n, n).CopyTo(ct.Component(1, i));
            }
            ct.Seed = null;
        }
        finally { ArrayPool<ulong>.Shared.Return(pool); }
    }

    // ---------------------------------------------------------------- key switching

    /// <summary>The primes a key switch works in: those of the level (0..k-1), then the special prime.</summary>
    private int[] KeySwitchPrimes(int k)
    {
        int[] primeIdx = new int[k + 1];
        for (int i = 0; i < k; i++) primeIdx[i] = i;
        primeIdx[k] = _ctx.SpecialIndex;
        return primeIdx;
    }

    /// <summary>Where the key switch reads digit j of c1, lifted to the t-th key-switch prime (index idx), in NTT form.</summary>
    private interface IKeySwitchDigits
    {
        ReadOnlySpan<ulong> Digit(int j, int t, int idx);
    }

    /// <summary>Digits lifted once by <see cref="Hoist"/>: [digit j][prime t], N values each.</summary>
    private readonly ref struct PrecomputedDigits : IKeySwitchDigits
    {
        private readonly ulong[] _digits;
        private readonly int _total, _n;
        public PrecomputedDigits(ulong[] digits, int total, int n) { _digits = digits; _total = total; _n = n; }
        public ReadOnlySpan<ulong> Digit(int j, int t, int idx) => _digits.AsSpan((j * _total + t) * _n, _n);
    }

    /// <summary>
    /// Digits lifted on demand from c1's coefficients (digit j already out of NTT form in coeffs) into one N-value
    /// buffer, which the next call overwrites; digit j at its own prime is c1's component as it stands.
    /// </summary>
    private readonly ref struct LiftedDigits : IKeySwitchDigits
    {
        private readonly CkksContext _ctx;
        private readonly Ciphertext _ct;
        private readonly ReadOnlySpan<ulong> _coeffs;
        private readonly Span<ulong> _buf;
        public LiftedDigits(CkksContext ctx, Ciphertext ct, ReadOnlySpan<ulong> coeffs, Span<ulong> buf) { _ctx = ctx; _ct = ct; _coeffs = coeffs; _buf = buf; }

        public ReadOnlySpan<ulong> Digit(int j, int t, int idx)
        {
            if (idx == j) return _ct.Component(1, j);
            int n = _buf.Length;
            Modulus q = _ctx.Moduli[idx];
            ReadOnlySpan<ulong> dj = _coeffs.Slice(j * n, n);
            for (int x = 0; x < n; x++) _buf[x] = q.Reduce(dj[x]);
            _ctx.Ntt[idx].Forward(_buf);
            return _buf;
        }
    }

    /// <summary>
    /// The key-switch inner product followed by the division by the special prime: for every prime t of
    /// <paramref name="primeIdx"/>, acc_t = sum_j digit_j * (B_j, A_j) mod q_t, the digits read through the automorphism
    /// <paramref name="perm"/> when it is not empty; products are summed lazily in 128 bits and flushed before they can
    /// overflow. acc0 and acc1 hold (k + 1) * N values each; lazy is 4 * N scratch values.
    /// </summary>
    private void KeySwitchProducts<TDigits>(TDigits digits, int k, int[] primeIdx, ReadOnlySpan<int> perm, KeySwitchKey key,
        Span<ulong> acc0, Span<ulong> acc1, Span<ulong> lazy)
        where TDigits : IKeySwitchDigits, allows ref struct
    {
        int n = _ctx.N;
        Span<ulong> lo0 = lazy.Slice(0, n), hi0 = lazy.Slice(n, n), lo1 = lazy.Slice(2 * n, n), hi1 = lazy.Slice(3 * n, n);
        for (int t = 0; t < primeIdx.Length; t++)
        {
            int idx = primeIdx[t];
            Modulus q = _ctx.Moduli[idx];
            int limit = RnsOps.LazyTermLimit(q), terms = 0;
            lo0.Clear(); hi0.Clear(); lo1.Clear(); hi1.Clear();
            for (int j = 0; j < k; j++)
            {
                RnsOps.KeySwitchAccumulate(digits.Digit(j, t, idx), perm, key.B[j].AsSpan(idx * n, n), key.A[j].AsSpan(idx * n, n), lo0, hi0, lo1, hi1);
                if (++terms == limit) { RnsOps.FlushLazy(lo0, hi0, q); RnsOps.FlushLazy(lo1, hi1, q); terms = 1; }
            }
            RnsOps.ReduceLazy(lo0, hi0, acc0.Slice(t * n, n), q);
            RnsOps.ReduceLazy(lo1, hi1, acc1.Slice(t * n, n), q);
        }
        RnsOps.DivideRoundByLast(_ctx, acc0, primeIdx);
        RnsOps.DivideRoundByLast(_ctx, acc1, primeIdx);
    }
}
