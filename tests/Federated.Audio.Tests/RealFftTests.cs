using System.Numerics;
using MathNet.Numerics.IntegralTransforms;

namespace Federated.Audio.Tests;

/// <summary>Our radix-2 real FFT against MathNet.Numerics (the maintained reference) and a naive DFT.</summary>
[Trait("Category", "Unit")]
public class RealFftTests
{
    private static double[] RandomFrame(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => 2 * random.NextDouble() - 1).ToArray();
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(256)]
    [InlineData(2048)]
    public void Matches_math_net_forward_real(int n)
    {
        double[] x = RandomFrame(n, n);
        var packed = new double[n + 2];
        x.CopyTo(packed, 0);
        Fourier.ForwardReal(packed, n, FourierOptions.AsymmetricScaling); // unscaled, e^(-i...) like ours

        var re = new double[n / 2 + 1];
        var im = new double[n / 2 + 1];
        new RealFft(n).Forward(x, re, im);
        for (int k = 0; k <= n / 2; k++)
        {
            Assert.Equal(packed[2 * k], re[k], 9);
            Assert.Equal(packed[2 * k + 1], im[k], 9);
        }
    }

    [Fact]
    public void Matches_naive_dft_and_is_reusable()
    {
        const int n = 16;
        var fft = new RealFft(n);
        for (int seed = 1; seed <= 3; seed++)
        {
            double[] x = RandomFrame(n, seed);
            var re = new double[n / 2 + 1];
            var im = new double[n / 2 + 1];
            fft.Forward(x, re, im);
            for (int k = 0; k <= n / 2; k++)
            {
                Complex sum = Complex.Zero;
                for (int t = 0; t < n; t++)
                {
                    sum += x[t] * Complex.Exp(new Complex(0, -2 * Math.PI * k * t / n));
                }

                Assert.Equal(sum.Real, re[k], 10);
                Assert.Equal(sum.Imaginary, im[k], 10);
            }
        }
    }

    [Fact]
    public void Rejects_lengths_that_are_not_powers_of_two()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RealFft(1000));
        Assert.Throws<ArgumentException>(() => new RealFft(8).Forward(new double[4], new double[5], new double[5]));
    }
}
