// LibTorch's global RNG (torch.manual_seed) seeds module construction: tests must not construct models concurrently.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
// Category: Unit (in process, no other programs). Run apart with dotnet test --filter Category=Unit.
[assembly: AssemblyTrait("Category", "Unit")]
