using System.Runtime.InteropServices;

namespace Federated.Vectors.Native;

/// <summary>
/// The C entry points of USearch (libusearch_c, shipped by the Cloud.Unum.USearch package per RID under
/// runtimes/&lt;rid&gt;/native). The managed wrapper of the package has no multi-threaded insertion contexts, no
/// expansion settings after creation and no buffer views, so the index calls the C library directly. Every function
/// reports failure through its last argument: a pointer to a static, NUL-terminated message, or null.
/// </summary>
internal static unsafe partial class USearchNative
{
    private const string Library = "libusearch_c";

    public const uint MetricInnerProduct = 2;
    public const uint ScalarFloat32 = 1;

    /// <summary>usearch_init_options_t: metric kind, custom metric, quantization, dimensions, connectivity, expansions, multi.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct InitOptions
    {
        public uint MetricKind;
        public nint Metric;
        public uint Quantization;
        public nuint Dimensions;
        public nuint Connectivity;
        public nuint ExpansionAdd;
        public nuint ExpansionSearch;
        public byte Multi;
    }

    [LibraryImport(Library, EntryPoint = "usearch_version")]
    public static partial byte* Version();

    [LibraryImport(Library, EntryPoint = "usearch_init")]
    public static partial nint Init(void* options, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_free")]
    public static partial void Free(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_reserve")]
    public static partial void Reserve(nint index, nuint capacity, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_add")]
    public static partial void ChangeThreadsAdd(nint index, nuint threads, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_search")]
    public static partial void ChangeThreadsSearch(nint index, nuint threads, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_expansion_search")]
    public static partial void ChangeExpansionSearch(nint index, nuint expansion, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_expansion_add")]
    public static partial void ChangeExpansionAdd(nint index, nuint expansion, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_expansion_search")]
    public static partial nuint ExpansionSearch(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_expansion_add")]
    public static partial nuint ExpansionAdd(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_connectivity")]
    public static partial nuint Connectivity(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_dimensions")]
    public static partial nuint Dimensions(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_size")]
    public static partial nuint Size(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_memory_usage")]
    public static partial nuint MemoryUsage(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_hardware_acceleration")]
    public static partial byte* HardwareAcceleration(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_add")]
    public static partial void Add(nint index, ulong key, float* vector, uint scalarKind, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_search")]
    public static partial nuint Search(nint index, float* query, uint scalarKind, nuint count, ulong* keys, float* distances, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_get")]
    public static partial nuint Get(nint index, ulong key, nuint count, float* vector, uint scalarKind, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_serialized_length")]
    public static partial nuint SerializedLength(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_save_buffer")]
    public static partial void SaveBuffer(nint index, byte* buffer, nuint length, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_load_buffer")]
    public static partial void LoadBuffer(nint index, byte* buffer, nuint length, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_view_buffer")]
    public static partial void ViewBuffer(nint index, byte* buffer, nuint length, out nint error);

    /// <summary>Throws when <paramref name="error"/> is set, naming the call that failed.</summary>
    public static void Check(nint error, string operation)
    {
        if (error != 0)
            throw new VectorIndexException($"USearch {operation} failed: {Marshal.PtrToStringUTF8(error)}");
    }

    /// <summary>The library's version ("2.26.6"), or a clear error when the native library does not load here.</summary>
    public static string LoadedVersion()
    {
        try
        {
            return Marshal.PtrToStringUTF8((nint)Version()) ?? "?";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new VectorIndexException(
                $"the USearch native library ({Library}) did not load for {RuntimeInformation.RuntimeIdentifier}: {e.Message}. " +
                "It ships in the Cloud.Unum.USearch package under runtimes/<rid>/native (linux-x64, osx-arm64, win-x64) " +
                "and needs libgomp.so.1 on Linux (Debian package libgomp1).", e);
        }
    }
}
