// LibTorch's global RNG (torch.manual_seed) seeds module construction: tests must not construct models concurrently.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
