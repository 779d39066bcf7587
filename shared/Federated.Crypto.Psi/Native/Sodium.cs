using System.Reflection;
using System.Runtime.InteropServices;

namespace Federated.Crypto.Psi.Native;

/// <summary>
/// P/Invoke declarations for the libsodium functions the PSI needs. The native library is the one the
/// NSec.Cryptography package ships (the "libsodium" NuGet dependency); the resolver below finds it next to the
/// application or in the package's runtimes folder, so no system-wide libsodium is required.
/// </summary>
internal static unsafe class Sodium
{
    private const string Library = "libsodium";

    public const int PointBytes = 32;
    public const int ScalarBytes = 32;
    public const int HashBytes = 64;

    private static readonly object InitLock = new();
    private static volatile bool _initialised;

    static Sodium()
    {
        NativeLibrary.SetDllImportResolver(typeof(Sodium).Assembly, Resolve);
    }

    /// <summary>Loads libsodium and runs sodium_init once per process; throws with the reason if that fails.</summary>
    public static void EnsureInitialised()
    {
        if (_initialised) return;
        lock (InitLock)
        {
            if (_initialised) return;
            int rc;
            try { rc = sodium_init(); }
            catch (DllNotFoundException e)
            {
                throw new InvalidOperationException(
                    "libsodium could not be loaded; it ships with the NSec.Cryptography package (runtimes/<rid>/native)", e);
            }
            // 0 = initialised now, 1 = already initialised (for example by NSec); -1 = failure.
            if (rc < 0) throw new InvalidOperationException("sodium_init failed");
            _initialised = true;
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library) return IntPtr.Zero;
        // 1. The default probing (the app's deps.json lists libsodium as a native asset of the package).
        if (NativeLibrary.TryLoad(name, assembly, searchPath, out var handle)) return handle;
        // 2. Next to our assembly or NSec's, including the runtimes/<rid>/native layout of a portable build.
        string rid = RuntimeInformation.RuntimeIdentifier;
        string file = OperatingSystem.IsWindows() ? "libsodium.dll" : OperatingSystem.IsMacOS() ? "libsodium.dylib" : "libsodium.so";
        foreach (var dir in CandidateDirectories())
        {
            foreach (var candidate in new[]
                     {
                         Path.Combine(dir, file),
                         Path.Combine(dir, "runtimes", rid, "native", file),
                         Path.Combine(dir, "runtimes", PortableRid(), "native", file),
                     })
            {
                if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out handle)) return handle;
            }
        }
        return IntPtr.Zero;
    }

    private static IEnumerable<string> CandidateDirectories()
    {
        var dirs = new List<string?> { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(Sodium).Assembly.Location) };
        try { dirs.Add(Path.GetDirectoryName(typeof(NSec.Cryptography.Key).Assembly.Location)); }
        catch (FileNotFoundException) { /* NSec not deployed: the other candidates remain */ }
        return dirs.Where(d => !string.IsNullOrEmpty(d)).Distinct()!;
    }

    private static string PortableRid()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        return $"{os}-{arch}";
    }

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern int sodium_init();

    /// <summary>Maps 64 uniformly random bytes to a ristretto255 element (Elligator, twice, and add).</summary>
    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern int crypto_core_ristretto255_from_hash(byte* p, byte* r);

    /// <summary>q = n·p. Returns -1 if p is not a valid encoding or the result is the identity.</summary>
    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern int crypto_scalarmult_ristretto255(byte* q, byte* n, byte* p);

    /// <summary>Uniform non-zero scalar mod L from libsodium's CSPRNG.</summary>
    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern void crypto_core_ristretto255_scalar_random(byte* r);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern int crypto_core_ristretto255_is_valid_point(byte* p);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern void sodium_memzero(byte* pnt, nuint len);

    /// <summary>Keyed BLAKE2b; used for the party-local ID digests that recognise IDs seen in earlier rounds.</summary>
    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern int crypto_generichash(byte* output, nuint outlen, byte* input, ulong inlen, byte* key, nuint keylen);
}
