using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Learning;

/// <summary>
/// Tensor arithmetic with plain numbers, each number made into a TorchSharp <see cref="Scalar"/> that a <c>using</c>
/// holds across the native call. TorchSharp's own conversions (<c>t.mul(0.5)</c>, <c>t * 2.0</c>, the alpha 1 of
/// <c>a + b</c> and <c>add(b)</c>) create a Scalar that is referenced only until its native handle has been read; its
/// finalizer can then free the native scalar while LibTorch still reads it, which surfaces as LibTorch's
/// "toDouble"/"toFloat" check in c10/core/Scalar.h or as a crash. The operands are kept alive for the same reason.
/// Federated.Analyzers (FT0001-FT0004) rejects the unsafe forms in Learning, Training and Experiments.
/// </summary>
public static class TorchScalars
{
    /// <summary><paramref name="t"/> · <paramref name="factor"/>.</summary>
    public static Tensor Times(this Tensor t, double factor)
    {
        using var s = factor.ToScalar();
        var result = t.mul(s);
        GC.KeepAlive(t);
        return result;
    }

    /// <summary><paramref name="t"/> ← <paramref name="t"/> · <paramref name="factor"/>, in place.</summary>
    public static Tensor TimesInPlace(this Tensor t, double factor)
    {
        using var s = factor.ToScalar();
        return t.mul_(s);
    }

    /// <summary><paramref name="t"/> / <paramref name="divisor"/>.</summary>
    public static Tensor DividedBy(this Tensor t, double divisor)
    {
        using var s = divisor.ToScalar();
        var result = t.div(s);
        GC.KeepAlive(t);
        return result;
    }

    /// <summary><paramref name="numerator"/> / <paramref name="t"/>, element-wise (TorchSharp's number / tensor: reciprocal, then scale).</summary>
    public static Tensor Into(this Tensor t, double numerator)
    {
        using var reciprocal = t.reciprocal();
        GC.KeepAlive(t);
        return reciprocal.Times(numerator);
    }

    /// <summary><paramref name="t"/> + <paramref name="other"/> (with an explicit alpha of 1, valid for integer tensors too).</summary>
    public static Tensor Plus(this Tensor t, Tensor other)
    {
        using var one = 1.ToScalar();
        var result = t.add(other, one);
        GC.KeepAlive(t);
        GC.KeepAlive(other);
        return result;
    }

    /// <summary><paramref name="t"/> ← <paramref name="t"/> + <paramref name="alpha"/> · <paramref name="other"/>, in place.</summary>
    public static Tensor PlusInPlace(this Tensor t, Tensor other, double alpha = 1)
    {
        using var a = alpha.ToScalar();
        t.add_(other, a);
        GC.KeepAlive(other);
        return t;
    }

    /// <summary><paramref name="t"/> clamped below at <paramref name="min"/>.</summary>
    public static Tensor ClampMin(this Tensor t, double min)
    {
        using var s = min.ToScalar();
        var result = t.clamp_min(s);
        GC.KeepAlive(t);
        return result;
    }

    /// <summary><paramref name="t"/> clamped above at <paramref name="max"/>.</summary>
    public static Tensor ClampMax(this Tensor t, double max)
    {
        using var s = max.ToScalar();
        var result = t.clamp_max(s);
        GC.KeepAlive(t);
        return result;
    }

    /// <summary><paramref name="t"/> with <paramref name="value"/> where <paramref name="mask"/> is true (a float tensor).</summary>
    public static Tensor MaskedFill(this Tensor t, Tensor mask, double value)
    {
        using var s = value.ToScalar();
        var result = t.masked_fill(mask, s);
        GC.KeepAlive(t);
        GC.KeepAlive(mask);
        return result;
    }

    /// <summary><paramref name="t"/> with <paramref name="value"/> where <paramref name="mask"/> is true (an integer tensor).</summary>
    public static Tensor MaskedFill(this Tensor t, Tensor mask, long value)
    {
        using var s = value.ToScalar();
        var result = t.masked_fill(mask, s);
        GC.KeepAlive(t);
        GC.KeepAlive(mask);
        return result;
    }

    /// <summary>0, 1, …, <paramref name="count"/> − 1 as a tensor of <paramref name="dtype"/>.</summary>
    public static Tensor Range(long count, ScalarType dtype)
    {
        using var start = 0L.ToScalar();
        using var stop = count.ToScalar();
        using var step = 1L.ToScalar();
        return arange(start, stop, step, dtype);
    }
}
