using BenchmarkDotNet.Running;
using Federated.Ckks.Benchmarks;

// `dotnet run -c Release -- --sizes` prints serialized sizes; anything else goes to BenchmarkDotNet's switcher,
// e.g. `dotnet run -c Release -- --filter '*CoreOps*'`.
if (args.Contains("--sizes"))
{
    SerializedSizes.Print();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(CoreOpsBenchmarks).Assembly).Run(args);
