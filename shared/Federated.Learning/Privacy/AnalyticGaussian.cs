using MathNet.Numerics;

namespace Federated.Learning.Privacy;

/// <summary>
/// The exact privacy curve of the Gaussian mechanism (Balle &amp; Wang 2018, "Improving the Gaussian Mechanism for
/// Differential Privacy", Theorem 8): with μ = sensitivity / noise std, the mechanism is (ε, δ)-DP exactly for
/// δ(ε) = Φ(μ/2 − ε/μ) − e^ε Φ(−μ/2 − ε/μ). T-fold composition is the same curve with μ·√T. Used as a
/// cross-check of the RDP accountant (which must never claim a smaller ε than this).
/// </summary>
public static class AnalyticGaussian
{
    public static double Delta(double epsilon, double mu)
    {
        if (!(mu > 0)) throw new ArgumentOutOfRangeException(nameof(mu), mu, "μ must be positive");
        if (epsilon < 0) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must not be negative");
        double first = Phi(mu / 2 - epsilon / mu);
        // e^ε Φ(−μ/2 − ε/μ) computed in log space to survive large ε.
        double second = Math.Exp(epsilon + LogPhi(-mu / 2 - epsilon / mu));
        return Math.Max(0, first - second);
    }

    /// <summary>The smallest ε with δ(ε) ≤ <paramref name="delta"/>, by bisection (δ(ε) is decreasing).</summary>
    public static double Epsilon(double delta, double mu)
    {
        if (!(delta > 0 && delta < 1)) throw new ArgumentOutOfRangeException(nameof(delta), delta, "δ must be in (0, 1)");
        if (Delta(0, mu) <= delta) return 0;
        double low = 0, high = 1;
        while (Delta(high, mu) > delta) high *= 2;
        for (int i = 0; i < 200 && high - low > 1e-12; i++)
        {
            double mid = (low + high) / 2;
            if (Delta(mid, mu) > delta) low = mid; else high = mid;
        }
        return high;
    }

    private static double Phi(double x) => 0.5 * SpecialFunctions.Erfc(-x / Math.Sqrt(2));

    private static double LogPhi(double x) => Math.Log(0.5) + RenyiDpAccountant.LogErfc(-x / Math.Sqrt(2));
}
