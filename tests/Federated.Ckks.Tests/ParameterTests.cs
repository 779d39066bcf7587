using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Arithmetic;

namespace Federated.Ckks.Tests;

public class ParameterTests
{
    [Theory]
    [InlineData(4096, new[] { 40, 30, 40 })]            // 110 > 109
    [InlineData(8192, new[] { 60, 60, 40, 60 })]        // 220 > 218
    [InlineData(16384, new[] { 60, 60, 60, 60, 60, 60, 60, 60 })] // 480 > 438
    public void Insecure_parameter_sets_are_refused_with_the_bound_in_the_message(int n, int[] bits)
    {
        var parms = EncryptionParameters.Create(n, bits);
        var ex = Assert.Throws<CkksParameterException>(() => new CkksContext(parms));
        Assert.Contains("insecure", ex.Message);
        Assert.Contains(EncryptionParameters.MaxLogQ128(n).ToString(), ex.Message);
        // Explicit opt-out works.
        var ctx = new CkksContext(parms, SecurityLevel.NoneInsecure);
        Assert.Equal(SecurityLevel.NoneInsecure, ctx.SecurityLevel);
    }

    [Fact]
    public void Boundary_parameter_sets_are_accepted()
    {
        Assert.Equal(218, new CkksContext(EncryptionParameters.Create(8192, 60, 49, 49, 60)).Parameters.TotalCoeffModulusBitCount);
        Assert.Equal(180, TestSupport.Protocol8192.Parameters.TotalCoeffModulusBitCount);
        Assert.Equal(109, TestSupport.Small4096.Parameters.TotalCoeffModulusBitCount);
    }

    [Fact]
    public void Malformed_parameters_are_refused_with_clear_errors()
    {
        var primes = CoeffModulus.Create(8192, [50, 40, 60]);
        Assert.Contains("power of two", Assert.Throws<CkksParameterException>(() => new CkksContext(new EncryptionParameters(6000, primes))).Message);
        Assert.Contains("at least one data prime", Assert.Throws<CkksParameterException>(() => new CkksContext(new EncryptionParameters(8192, primes.Take(1).ToArray()))).Message);
        Assert.Contains("repeated", Assert.Throws<CkksParameterException>(() => new CkksContext(new EncryptionParameters(8192, [primes[0], primes[0], primes[2]]))).Message);
        // A prime that is NTT-friendly for 4096 but not for 16384.
        var small = CoeffModulus.Create(4096, [40, 50]);
        var bad = small.First(p => p.Value % 32768 != 1);
        Assert.Contains("NTT-friendly", Assert.Throws<CkksParameterException>(() => new CkksContext(new EncryptionParameters(16384, [bad, primes[2]]))).Message);
        Assert.Contains("special prime", Assert.Throws<CkksParameterException>(() => new CkksContext(new EncryptionParameters(8192, [primes[2], primes[0]]))).Message);
    }

    [Fact]
    public void Parameters_hash_distinguishes_parameter_sets()
    {
        Assert.False(TestSupport.Standard8192.SameParameters(TestSupport.Protocol8192));
        var again = new CkksContext(new EncryptionParameters(8192, TestSupport.Standard8192.Moduli));
        Assert.True(again.SameParameters(TestSupport.Standard8192));
    }
}
