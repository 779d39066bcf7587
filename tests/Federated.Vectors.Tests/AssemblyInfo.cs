// Category: Unit (in process; the native USearch library loads from the package's runtimes/<rid>/native).
[assembly: AssemblyTrait("Category", "Unit")]
