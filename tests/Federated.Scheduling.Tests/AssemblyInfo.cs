// Category: Unit (in process, no other programs). Run apart with dotnet test --filter Category=Unit.
[assembly: AssemblyTrait("Category", "Unit")]
