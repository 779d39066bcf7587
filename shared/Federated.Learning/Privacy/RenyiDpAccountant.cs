using MathNet.Numerics;

namespace Federated.Learning.Privacy;

/// <summary>How an RDP curve is converted to (ε, δ)-DP.</summary>
public enum RdpConversion
{
    /// <summary>Mironov 2017, Proposition 3: ε = RDP(α) + log(1/δ) / (α − 1).</summary>
    Classic,
    /// <summary>Balle et al. 2020 (Thm 21) / Canonne–Kamath–Steinke 2020: ε = RDP(α) + log((α−1)/α) − (log δ + log α)/(α − 1).</summary>
    Improved,
}

/// <summary>ε spent at δ, and the Rényi order that gave it.</summary>
public sealed record PrivacySpent(double Epsilon, double Delta, double Order);

/// <summary>
/// Rényi-DP accountant for the (Poisson-)sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019, "Rényi
/// Differential Privacy of the Sampled Gaussian Mechanism"): noise multiplier σ (noise std / clip norm), sampling
/// rate q, composed over T steps, converted to (ε, δ). With q = 1 it is the Gaussian mechanism, RDP(α) = α / (2σ²).
/// </summary>
public static class RenyiDpAccountant
{
    /// <summary>Orders 1.1 .. 10.9 by 0.1 and 12 .. 63 (the grid Opacus uses), plus a few large orders for small ε.</summary>
    public static IReadOnlyList<double> DefaultOrders { get; } =
        Enumerable.Range(1, 99).Select(x => 1 + x / 10.0)
            .Concat(Enumerable.Range(12, 52).Select(x => (double)x))
            .Concat(new double[] { 64, 80, 96, 128, 192, 256 })
            .ToArray();

    /// <summary>RDP of one step of the sampled Gaussian mechanism at order α (> 1).</summary>
    public static double SampledGaussianRdp(double samplingRate, double noiseMultiplier, double order)
    {
        if (!(samplingRate >= 0 && samplingRate <= 1)) throw new ArgumentOutOfRangeException(nameof(samplingRate), samplingRate, "sampling rate must be in [0, 1]");
        if (!(noiseMultiplier >= 0)) throw new ArgumentOutOfRangeException(nameof(noiseMultiplier), noiseMultiplier, "noise multiplier must not be negative");
        if (!(order > 1)) throw new ArgumentOutOfRangeException(nameof(order), order, "Rényi order must be greater than 1");
        if (samplingRate == 0) return 0;
        if (noiseMultiplier == 0 || double.IsPositiveInfinity(order)) return double.PositiveInfinity;
        if (samplingRate == 1) return order / (2 * noiseMultiplier * noiseMultiplier);
        double logA = order == Math.Floor(order) && order < 1e6
            ? LogAIntegerOrder(samplingRate, noiseMultiplier, (int)order)
            : LogAFractionalOrder(samplingRate, noiseMultiplier, order);
        return logA / (order - 1);
    }

    /// <summary>RDP of <paramref name="steps"/> composed steps at each order.</summary>
    public static double[] ComposedRdp(double samplingRate, double noiseMultiplier, long steps, IReadOnlyList<double> orders)
    {
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must not be negative");
        var rdp = new double[orders.Count];
        for (int i = 0; i < orders.Count; i++) rdp[i] = steps * SampledGaussianRdp(samplingRate, noiseMultiplier, orders[i]);
        return rdp;
    }

    /// <summary>The smallest ε over the orders for which the composed mechanism is (ε, δ)-DP.</summary>
    public static PrivacySpent EpsilonFromRdp(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta,
        RdpConversion conversion = RdpConversion.Improved)
    {
        if (orders.Count != rdp.Count || orders.Count == 0) throw new ArgumentException($"need one RDP value per order: {orders.Count} orders, {rdp.Count} values");
        if (!(delta > 0 && delta < 1)) throw new ArgumentOutOfRangeException(nameof(delta), delta, "δ must be in (0, 1)");
        double best = double.PositiveInfinity, bestOrder = double.NaN;
        for (int i = 0; i < orders.Count; i++)
        {
            double a = orders[i];
            if (!(a > 1)) throw new ArgumentOutOfRangeException(nameof(orders), a, "every Rényi order must be greater than 1");
            double eps = conversion == RdpConversion.Classic
                ? rdp[i] + Math.Log(1 / delta) / (a - 1)
                : rdp[i] + Math.Log((a - 1) / a) - (Math.Log(delta) + Math.Log(a)) / (a - 1);
            if (eps < best) { best = eps; bestOrder = a; }
        }
        return new PrivacySpent(Math.Max(0, best), delta, bestOrder);
    }

    /// <summary>ε after <paramref name="steps"/> steps of the sampled Gaussian mechanism.</summary>
    public static PrivacySpent Epsilon(double noiseMultiplier, double samplingRate, long steps, double delta,
        IReadOnlyList<double>? orders = null, RdpConversion conversion = RdpConversion.Improved)
    {
        orders ??= DefaultOrders;
        return EpsilonFromRdp(orders, ComposedRdp(samplingRate, noiseMultiplier, steps, orders), delta, conversion);
    }

    // A_α = E_{z~N(0,σ²)}[((1−q) + q·exp((2z−1)/(2σ²)))^α]; RDP = log A_α / (α − 1).
    // Integer α: binomial expansion, A_α = Σ_k C(α,k) (1−q)^{α−k} q^k exp((k² − k)/(2σ²)), summed in log space.
    private static double LogAIntegerOrder(double q, double sigma, int alpha)
    {
        var terms = new double[alpha + 1];
        for (int k = 0; k <= alpha; k++)
            terms[k] = SpecialFunctions.BinomialLn(alpha, k) + (alpha - k) * Math.Log(1 - q) + k * Math.Log(q) + (k * (double)k - k) / (2 * sigma * sigma);
        return LogSumExp(terms);
    }

    // Fractional α (Mironov, Talwar, Zhang 2019, §3.3): split the integral at z0 = σ² log(1/q − 1) + 1/2, where the
    // two mixture components cross, and expand each side with the generalised binomial series; erfc gives each
    // Gaussian tail. Coefficients C(α,k) change sign once k > α, so terms are accumulated with their signs.
    private static double LogAFractionalOrder(double q, double sigma, double alpha)
    {
        double z0 = sigma * sigma * Math.Log(1 / q - 1) + 0.5;
        var logs = new List<double>();
        var signs = new List<int>();
        double logCoefficient = 0; // log |C(α, 0)|
        int sign = 1;
        double running = double.NegativeInfinity;
        for (int k = 0; k < 100_000; k++)
        {
            double j = alpha - k;
            double logT0 = logCoefficient + k * Math.Log(q) + j * Math.Log(1 - q);
            double logT1 = logCoefficient + j * Math.Log(q) + k * Math.Log(1 - q);
            double logE0 = Math.Log(0.5) + LogErfc((k - z0) / (Math.Sqrt(2) * sigma));
            double logE1 = Math.Log(0.5) + LogErfc((z0 - j) / (Math.Sqrt(2) * sigma));
            double logS0 = logT0 + (k * (double)k - k) / (2 * sigma * sigma) + logE0;
            double logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
            logs.Add(logS0); signs.Add(sign);
            logs.Add(logS1); signs.Add(sign);
            running = Math.Max(running, Math.Max(logS0, logS1));
            if (k > alpha && Math.Max(logS0, logS1) < running - 40) break;
            // C(α, k+1) = C(α, k) · (α − k) / (k + 1)
            double factor = (alpha - k) / (k + 1);
            if (factor == 0) break;
            if (factor < 0) sign = -sign;
            logCoefficient += Math.Log(Math.Abs(factor));
        }
        double max = logs.Max();
        double sum = 0;
        for (int i = 0; i < logs.Count; i++) sum += signs[i] * Math.Exp(logs[i] - max);
        if (!(sum > 0)) throw new ArithmeticException($"RDP series for order {alpha}, q {q}, σ {sigma} lost all precision");
        return max + Math.Log(sum);
    }

    private static double LogSumExp(double[] values)
    {
        double max = values.Max();
        if (double.IsNegativeInfinity(max)) return max;
        double sum = 0;
        foreach (var v in values) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    /// <summary>log erfc(x), accurate also far in the tail where erfc underflows.</summary>
    internal static double LogErfc(double x)
    {
        if (x < 5) return Math.Log(SpecialFunctions.Erfc(x));
        // Asymptotic series: erfc(x) = exp(−x²)/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + 105/(16x⁸)).
        double x2 = x * x;
        double series = 1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2) + 105 / (16 * x2 * x2 * x2 * x2);
        return -x2 - Math.Log(x) - 0.5 * Math.Log(Math.PI) + Math.Log(series);
    }
}
