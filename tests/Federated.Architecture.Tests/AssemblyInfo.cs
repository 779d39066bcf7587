// Category: Unit (reads files only).
[assembly: AssemblyTrait("Category", "Unit")]
