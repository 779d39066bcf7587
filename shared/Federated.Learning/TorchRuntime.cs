using TorchSharp;

namespace Federated.Learning;

/// <summary>
/// One place that prepares LibTorch for this process: CPU only, a fixed thread count, and a deterministic seed
/// when asked. Loading fails with a clear message instead of a DllNotFoundException deep in the first tensor call.
/// </summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _initialised;

    /// <summary>Loads the native library and sets the intra-op thread count (default: all cores).</summary>
    public static void Initialise(int? threads = null)
    {
        lock (Gate)
        {
            if (_initialised) return;
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException)
            {
                throw new InvalidOperationException(
                    "LibTorch (TorchSharp-cpu) could not be loaded. On Debian 12 the build marks GLIBCXX_3.4.32 weak in " +
                    "bin/**/libLibTorchSharp.so (shared/Federated.Learning/build/TorchSharpDebian12.targets); rebuild the " +
                    "project so that step runs. Cause: " + e.Message, e);
            }
            torch.set_num_threads(threads ?? Environment.ProcessorCount);
            _initialised = true;
        }
    }
}
