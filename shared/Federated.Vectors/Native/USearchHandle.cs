using System.Runtime.InteropServices;

namespace Federated.Vectors.Native;

/// <summary>Owns one native USearch index; frees it once, also when the owner was never disposed.</summary>
internal sealed class USearchHandle : SafeHandle
{
    private USearchHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    /// <summary>A new native index for float32 vectors under the inner product (cosine is stored as unit vectors).</summary>
    public static unsafe USearchHandle Create(int dimension, HnswOptions options)
    {
        USearchNative.LoadedVersion();
        // Zeroed room beyond the struct: a library whose options grew reads its newer fields as "default".
        var room = stackalloc byte[256];
        new Span<byte>(room, 256).Clear();
        var init = (USearchNative.InitOptions*)room;
        init->MetricKind = USearchNative.MetricInnerProduct;
        init->Metric = 0;
        init->Quantization = USearchNative.ScalarFloat32;
        init->Dimensions = (nuint)dimension;
        init->Connectivity = (nuint)options.Connectivity;
        init->ExpansionAdd = (nuint)options.ExpansionAdd;
        init->ExpansionSearch = (nuint)options.ExpansionSearch;
        init->Multi = 0;
        var pointer = USearchNative.Init(room, out var error);
        var result = new USearchHandle();
        result.SetHandle(pointer);
        if (error != 0 || pointer == 0)
        {
            result.Dispose();
            USearchNative.Check(error, "index creation");
            throw new VectorIndexException("USearch index creation returned no index");
        }
        return result;
    }

    protected override bool ReleaseHandle()
    {
        USearchNative.Free(handle, out _);
        return true;
    }
}
