namespace Federated.Crypto.Psi;

/// <summary>Splits index ranges over worker threads (hashing and scalar multiplication are the hot loops).</summary>
internal static class Work
{
    /// <summary>Runs <paramref name="body"/>(start, end) over contiguous slices of [0, count).</summary>
    public static void ForRanges(int count, int degree, Action<int, int> body)
    {
        if (count <= 0) return;
        int workers = Math.Max(1, Math.Min(degree, count / 64));
        if (workers == 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            int start = (int)((long)count * w / workers);
            int end = (int)((long)count * (w + 1) / workers);
            body(start, end);
        });
    }
}
