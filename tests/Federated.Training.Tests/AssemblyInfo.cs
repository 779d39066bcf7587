// Both parties of a job share LibTorch's process-wide state and the two cores: run test classes one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
// Category: Unit (in process, no other programs). Run apart with dotnet test --filter Category=Unit.
[assembly: AssemblyTrait("Category", "Unit")]
