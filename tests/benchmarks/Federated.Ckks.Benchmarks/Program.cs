using BenchmarkDotNet.Running;
using Federated.Ckks.Benchmarks;

// `-- --sizes` prints serialized sizes; `-- --cputime N8192 N16384` prints per-op thread CPU time; anything else goes to BenchmarkDotNet's switcher,
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
if (args.Contains("--cputime"))
{
    foreach (var set in args.Where(a => a.StartsWith("N")).DefaultIfEmpty("N8192")) CpuTimeRunner.Run(set);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(CoreOpsBenchmarks).Assembly).Run(args);
