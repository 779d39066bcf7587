// Category: Unit (compiles example sources in memory, reads the repository's project files).
[assembly: AssemblyTrait("Category", "Unit")]
