using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Federated.Vectors.Internal;

/// <summary>Dot products of one query against a block of row-major rows, four rows at a time with <see cref="Vector{T}"/>.</summary>
internal static class DotKernel
{
    public static void Score(ReadOnlySpan<float> rows, int dimension, ReadOnlySpan<float> query, Span<float> scores)
    {
        var count = scores.Length;
        var width = Vector<float>.Count;
        if (!Vector.IsHardwareAccelerated || dimension < width)
        {
            for (var r = 0; r < count; r++)
                scores[r] = TensorPrimitives.Dot(rows.Slice(r * dimension, dimension), query);
            return;
        }

        var vectorEnd = dimension - dimension % width;
        ref var q = ref MemoryMarshal.GetReference(query);
        ref var first = ref MemoryMarshal.GetReference(rows);
        var r4 = 0;
        for (; r4 + 4 <= count; r4 += 4)
        {
            ref var a = ref Unsafe.Add(ref first, r4 * dimension);
            ref var b = ref Unsafe.Add(ref a, dimension);
            ref var c = ref Unsafe.Add(ref b, dimension);
            ref var d = ref Unsafe.Add(ref c, dimension);
            Vector<float> sa = default, sb = default, sc = default, sd = default;
            for (var j = 0; j < vectorEnd; j += width)
            {
                var qv = Vector.LoadUnsafe(ref q, (nuint)j);
                sa = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref a, (nuint)j), qv, sa);
                sb = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref b, (nuint)j), qv, sb);
                sc = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref c, (nuint)j), qv, sc);
                sd = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref d, (nuint)j), qv, sd);
            }
            float ta = Vector.Sum(sa), tb = Vector.Sum(sb), tc = Vector.Sum(sc), td = Vector.Sum(sd);
            for (var j = vectorEnd; j < dimension; j++)
            {
                var qj = Unsafe.Add(ref q, j);
                ta += Unsafe.Add(ref a, j) * qj;
                tb += Unsafe.Add(ref b, j) * qj;
                tc += Unsafe.Add(ref c, j) * qj;
                td += Unsafe.Add(ref d, j) * qj;
            }
            scores[r4] = ta;
            scores[r4 + 1] = tb;
            scores[r4 + 2] = tc;
            scores[r4 + 3] = td;
        }
        for (; r4 < count; r4++)
            scores[r4] = TensorPrimitives.Dot(rows.Slice(r4 * dimension, dimension), query);
    }
}
