using Federated.Learning.Privacy;

namespace Federated.Learning.Tests;

/// <summary>
/// The RDP accountant against published reference values:
/// - Gaussian mechanism: RDP(α) = α / (2σ²) (Mironov 2017, "Rényi Differential Privacy", Proposition 7).
/// - Sampled Gaussian mechanism values from the TensorFlow Privacy test suite
///   (tensorflow/privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py: test_compute_rdp_scalar,
///   test_compute_rdp_sequence, test_get_privacy_spent_check_target_delta).
/// - DP-SGD's ε from the Opacus test suite (pytorch/opacus, opacus/tests/accountants_test.py, test_rdp_accountant:
///   σ = 1.5, q = 0.04, 2250 steps, δ = 1e-5 → ε = 7.32911117143, with Opacus' default order grid).
/// - Cross-check: never below the exact curve of the Gaussian mechanism (Balle &amp; Wang 2018, Theorem 8).
/// </summary>
public class RenyiDpAccountantTests
{
    [Theory]
    [InlineData(10.0, 20.0)]
    [InlineData(1.0, 2.0)]
    [InlineData(0.7, 3.5)]
    public void Gaussian_mechanism_rdp_is_order_over_twice_sigma_squared(double sigma, double order)
    {
        Assert.Equal(order / (2 * sigma * sigma), RenyiDpAccountant.SampledGaussianRdp(1.0, sigma, order), 12);
    }

    [Fact]
    public void No_sampling_gives_no_privacy_loss_and_no_noise_gives_infinite_loss()
    {
        Assert.Equal(0, RenyiDpAccountant.SampledGaussianRdp(0, 10, 20));
        Assert.Equal(double.PositiveInfinity, RenyiDpAccountant.SampledGaussianRdp(0.1, 0, 20));
    }

    [Fact]
    public void Sampled_gaussian_matches_tensorflow_privacy_reference_values()
    {
        // compute_rdp(q=0.1, noise_multiplier=2, steps=10, orders=5) = 0.07737 (5 places)
        Assert.Equal(0.07737, RenyiDpAccountant.ComposedRdp(0.1, 2, 10, new[] { 5.0 })[0], 5);

        // compute_rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100]) = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307] (±1e-5);
        // fractional orders exercise the series of Mironov, Talwar, Zhang 2019, §3.3.
        var orders = new[] { 1.5, 2.5, 5, 50, 100 };
        var expected = new[] { 0.00065, 0.001085, 0.00218075, 0.023846, 167.416307 };
        var rdp = RenyiDpAccountant.ComposedRdp(0.01, 2.5, 50, orders);
        for (int i = 0; i < orders.Length; i++)
            Assert.True(Math.Abs(expected[i] - rdp[i]) <= 1e-5, $"order {orders[i]}: expected {expected[i]}, got {rdp[i]}");
    }

    [Fact]
    public void Conversion_to_epsilon_matches_tensorflow_privacy_reference_values()
    {
        // A constant RDP curve of 1.1 over orders 2..32 at δ = 1e-5: the largest order wins, ε = 1.32783806176.
        var orders = Enumerable.Range(2, 31).Select(o => (double)o).ToArray();
        var spent = RenyiDpAccountant.EpsilonFromRdp(orders, orders.Select(_ => 1.1).ToArray(), 1e-5);
        Assert.Equal(32, spent.Order);
        Assert.Equal(1.32783806176, spent.Epsilon, 9);

        // The Gaussian mechanism with σ = 4.530877117 on a fine order grid is (1, 1e-6)-DP.
        var fine = Enumerable.Range(1001, 98999).Select(i => 0.001 * i).ToArray();
        var gaussian = RenyiDpAccountant.Epsilon(4.530877117, 1.0, 1, 1e-6, fine);
        Assert.Equal(1.0, gaussian.Epsilon, 5);
    }

    [Fact]
    public void Dp_sgd_epsilon_matches_the_opacus_reference_value()
    {
        var opacusOrders = Enumerable.Range(1, 99).Select(x => 1 + x / 10.0).Concat(Enumerable.Range(12, 52).Select(x => (double)x)).ToArray();
        var spent = RenyiDpAccountant.Epsilon(noiseMultiplier: 1.5, samplingRate: 0.04, steps: 2250, delta: 1e-5, opacusOrders);
        Assert.Equal(7.32911117143, spent.Epsilon, 6);
    }

    [Theory]
    [InlineData(1.0, 1, 1e-5)]
    [InlineData(2.0, 10, 1e-5)]
    [InlineData(5.0, 100, 1e-6)]
    public void Rdp_epsilon_is_an_upper_bound_close_to_the_exact_gaussian_curve(double sigma, long steps, double delta)
    {
        // T-fold composition of the Gaussian mechanism (sensitivity 1) is exactly the Gaussian mechanism with μ = √T / σ.
        double exact = AnalyticGaussian.Epsilon(delta, Math.Sqrt(steps) / sigma);
        double rdp = RenyiDpAccountant.Epsilon(sigma, 1.0, steps, delta).Epsilon;
        Assert.True(rdp >= exact, $"RDP claims ε = {rdp}, below the exact ε = {exact}");
        Assert.True(rdp <= exact * 1.35, $"RDP gives ε = {rdp}, far above the exact ε = {exact}: the conversion is too loose");
    }

    [Fact]
    public void More_noise_fewer_steps_and_lower_sampling_rate_each_spend_less()
    {
        double Eps(double sigma, double q, long steps) => RenyiDpAccountant.Epsilon(sigma, q, steps, 1e-5).Epsilon;
        Assert.True(Eps(2.0, 0.01, 1000) < Eps(1.0, 0.01, 1000));
        Assert.True(Eps(1.0, 0.01, 100) < Eps(1.0, 0.01, 1000));
        Assert.True(Eps(1.0, 0.001, 1000) < Eps(1.0, 0.01, 1000));
    }

    [Fact]
    public void Bad_parameters_are_rejected_with_the_parameter_named()
    {
        Assert.Contains("sampling rate", Assert.Throws<ArgumentOutOfRangeException>(() => RenyiDpAccountant.SampledGaussianRdp(1.5, 1, 2)).Message);
        Assert.Contains("order", Assert.Throws<ArgumentOutOfRangeException>(() => RenyiDpAccountant.SampledGaussianRdp(0.1, 1, 1.0)).Message);
        Assert.Contains("δ", Assert.Throws<ArgumentOutOfRangeException>(() => RenyiDpAccountant.Epsilon(1, 0.1, 10, 0)).Message);
    }
}
