using BenchmarkDotNet.Running;
using Federated.Ckks.Benchmarks;

// `-- --sizes` prints serialized sizes; `-- --cputime N8192 N16384 [--cold]` prints per-op thread CPU time (steady state
// unless --cold); `-- --vs-seal PATH_TO_SEAL_BENCH --rounds 5` runs SEAL's timing program and ours interleaved, pinned to
// one core, and prints the ratio table; anything else goes to BenchmarkDotNet's switcher,
// e.g. `dotnet run -c Release -- --filter '*CoreOps*'`.
if (args.Contains("--sizes"))
{
    SerializedSizes.Print();
    return;
}
if (args.Contains("--cputime-packed"))
{
    CpuTimeRunner.RunPacked();
    return;
}
if (args.Contains("--vs-seal"))
{
    SideBySide.Run(args);
    return;
}
if (args.Contains("--cputime"))
{
    CpuTimeRunner.Run(args.Where(a => a.StartsWith('N')).DefaultIfEmpty("N8192").ToList(), cold: args.Contains("--cold"));
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(CoreOpsBenchmarks).Assembly).Run(args);
