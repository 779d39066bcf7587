namespace Federated.Tests.Shared;

/// <summary>
/// What a decryptor's view of masked shares is checked with: positions in [0, 1) of the residues (residue / q) should
/// be uniform and uncorrelated with the plaintext. Linked into the test projects that check ring masks.
/// </summary>
internal static class ShareUniformity
{
    /// <summary>
    /// Kolmogorov-Smirnov statistic sqrt(n)·D against U[0, 1), chi-square over 32 equal bins (31 degrees of freedom),
    /// and the Pearson correlation between the centred position and <paramref name="plain"/>.
    /// Critical values at p = 0.001: KS &lt; 1.95, chi-square &lt; 61.1, |r| &lt; 4 / sqrt(n).
    /// </summary>
    public static (double Ks, double Chi2, double Corr) Of(IReadOnlyList<double> u, IReadOnlyList<double> plain)
    {
        int n = u.Count;
        var sorted = u.OrderBy(v => v).ToArray();
        double ks = 0;
        for (int i = 0; i < n; i++) ks = Math.Max(ks, Math.Max(Math.Abs((i + 1.0) / n - sorted[i]), Math.Abs(sorted[i] - (double)i / n)));
        const int bins = 32;
        var counts = new int[bins];
        foreach (double v in u) counts[Math.Min(bins - 1, (int)(v * bins))]++;
        double expected = (double)n / bins, chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        var centered = u.Select(v => v > 0.5 ? v - 1 : v).ToArray();
        double ma = centered.Average(), mb = plain.Average(), cov = 0, va = 0, vb = 0;
        for (int i = 0; i < n; i++)
        {
            cov += (centered[i] - ma) * (plain[i] - mb);
            va += (centered[i] - ma) * (centered[i] - ma);
            vb += (plain[i] - mb) * (plain[i] - mb);
        }
        return (ks * Math.Sqrt(n), chi2, cov / Math.Sqrt(va * vb));
    }
}
