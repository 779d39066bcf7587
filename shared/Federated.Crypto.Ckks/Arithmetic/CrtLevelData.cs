namespace Federated.Crypto.Ckks.Arithmetic;

/// <summary>
/// CRT reconstruction over the primes of one level: x = sum_i [x_i * (Q/q_i)^-1]_{q_i} * (Q/q_i) mod Q, computed in
/// multi-word arithmetic (little-endian 64-bit words) and returned centered in (-Q/2, Q/2] as a double.
/// </summary>
internal sealed class CrtLevelData
{
    private readonly Modulus[] _moduli;
    private readonly int _words;
    private readonly ulong[] _q;                // Q, _words words
    private readonly ulong[] _halfQ;            // floor(Q/2)
    private readonly ulong[][] _punctured;      // Q/q_i
    private readonly ulong[] _invPunctured;     // (Q/q_i)^-1 mod q_i
    private readonly ulong[] _invPuncturedShoup;

    public CrtLevelData(ReadOnlySpan<Modulus> moduli)
    {
        _moduli = moduli.ToArray();
        int k = _moduli.Length;
        _words = k;
        _q = new ulong[k];
        _q[0] = 1;
        foreach (var m in _moduli) MulScalar(_q, m.Value);
        _halfQ = new ulong[k];
        for (int w = 0; w < k; w++) _halfQ[w] = (_q[w] >> 1) | (w + 1 < k ? _q[w + 1] << 63 : 0);
        _punctured = new ulong[k][];
        _invPunctured = new ulong[k];
        _invPuncturedShoup = new ulong[k];
        for (int i = 0; i < k; i++)
        {
            var p = new ulong[k];
            p[0] = 1;
            ulong residue = 1;
            for (int j = 0; j < k; j++)
            {
                if (j == i) continue;
                MulScalar(p, _moduli[j].Value);
                residue = _moduli[i].Multiply(residue, _moduli[i].Reduce(_moduli[j].Value));
            }
            _punctured[i] = p;
            _invPunctured[i] = _moduli[i].Inverse(residue);
            _invPuncturedShoup[i] = _moduli[i].ShoupPrecompute(_invPunctured[i]);
        }
    }

    private static void MulScalar(Span<ulong> a, ulong s)
    {
        ulong carry = 0;
        for (int w = 0; w < a.Length; w++)
        {
            ulong hi = Math.BigMul(a[w], s, out ulong lo);
            lo += carry;
            if (lo < carry) hi++;
            a[w] = lo;
            carry = hi;
        }
    }

    /// <summary>Centered value of the residues (residues[i] mod q_i) as a double.</summary>
    public double ComposeCentered(ReadOnlySpan<ulong> residues, Span<ulong> scratch)
    {
        int k = _words;
        if (k == 1)
        {
            ulong q = _moduli[0].Value, r = residues[0];
            return r > q >> 1 ? -(double)(q - r) : r;
        }
        Span<ulong> acc = scratch[..(k + 1)];
        acc.Clear();
        for (int i = 0; i < k; i++)
        {
            ulong y = _moduli[i].MultiplyShoup(residues[i], _invPunctured[i], _invPuncturedShoup[i]);
            ulong[] p = _punctured[i];
            ulong carry = 0;
            for (int w = 0; w < k; w++)
            {
                ulong hi = Math.BigMul(p[w], y, out ulong lo);
                lo += carry; if (lo < carry) hi++;
                ulong s = acc[w] + lo; if (s < lo) hi++;
                acc[w] = s;
                carry = hi;
            }
            acc[k] += carry;
        }
        // acc < k * Q: subtract Q until below it.
        while (CompareToQ(acc) >= 0) SubtractQ(acc);
        bool negative = Compare(acc[..k], _halfQ) > 0;
        if (negative) Subtract(_q, acc[..k], acc); // acc = Q - acc
        double v = 0;
        for (int w = k - 1; w >= 0; w--) v = v * 18446744073709551616.0 + acc[w];
        return negative ? -v : v;
    }

    private int CompareToQ(ReadOnlySpan<ulong> acc)
    {
        int k = _words;
        if (acc[k] != 0) return 1;
        return Compare(acc[..k], _q);
    }

    private static int Compare(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        for (int w = a.Length - 1; w >= 0; w--)
            if (a[w] != b[w]) return a[w] > b[w] ? 1 : -1;
        return 0;
    }

    /// <summary>
    /// destination = a - b over b.Length little-endian words; returns the borrow out of the top word. destination may
    /// be a or b (each word is read before it is written).
    /// </summary>
    private static ulong Subtract(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> destination)
    {
        ulong borrow = 0;
        for (int w = 0; w < b.Length; w++)
        {
            ulong x = a[w], y = b[w];
            destination[w] = x - y - borrow;
            borrow = (x < y || (x == y && borrow == 1)) ? 1UL : 0UL;
        }
        return borrow;
    }

    private void SubtractQ(Span<ulong> acc)
    {
        acc[_words] -= Subtract(acc[.._words], _q, acc);
    }
}
