// Category: Integration (the three real hosts as processes on loopback). Run apart with dotnet test --filter Category=Integration.
[assembly: AssemblyTrait("Category", "Integration")]
