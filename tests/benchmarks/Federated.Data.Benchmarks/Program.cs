using System.Diagnostics;
using Federated.Data.Reading;
using Federated.Data.Schema;
using Federated.Synthetic;

// Figures-printing benchmark for the data layer (not part of `dotnet test`). Commands:
//   generate <dir> <tiny|demo|interactions-count> <csv|parquet> [name=value ...]   generator throughput
//            (overrides: popularityExponent, tasteSharpness, externalInformativeness, audioInformativeness, seed)
//   read <schema.json>                                          reader throughput and peak memory (own process)
//   baselines <world-dir>                                       popularity vs oracle on the cold-start tasks
//   all <work-dir> [interactions=10000000]                      generate + read, CSV and Parquet, reads in child processes
var command = args.FirstOrDefault() ?? "help";
switch (command)
{
    case "generate":
        await Generate(args[1], args[2], Enum.Parse<TableFormat>(args[3], ignoreCase: true), args.Skip(4).ToArray());
        break;
    case "read":
        await Read(args[1]);
        break;
    case "baselines":
        await Baselines(args[1]);
        break;
    case "all":
        All(args[1], args.Length > 2 ? long.Parse(args[2]) : 10_000_000);
        break;
    default:
        Console.WriteLine("usage: generate <dir> <tiny|demo|N> <csv|parquet> | read <schema.json> | baselines <dir> | all <dir> [N]");
        break;
}

static SyntheticWorldOptions Size(string size) => size switch
{
    "tiny" => SyntheticWorldOptions.Tiny,
    "demo" => SyntheticWorldOptions.Demo,
    _ => SyntheticWorldOptions.WithTrainingInteractions(long.Parse(size)),
};

static async Task Generate(string dir, string size, TableFormat format, string[] overrides)
{
    var options = Size(size) with { Format = format };
    foreach (var o in overrides)
    {
        var (name, value) = (o.Split('=')[0], double.Parse(o.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture));
        options = name switch
        {
            "popularityExponent" => options with { PopularityExponent = value },
            "tasteSharpness" => options with { TasteSharpness = value },
            "externalInformativeness" => options with { ExternalInformativeness = value },
            "audioInformativeness" => options with { AudioInformativeness = value },
            "seed" => options with { Seed = (long)value },
            _ => throw new ArgumentException($"unknown override '{name}'"),
        };
    }

    var watch = Stopwatch.StartNew();
    var summary = await SyntheticWorld.GenerateAsync(options, dir);
    var seconds = watch.Elapsed.TotalSeconds;
    var bytes = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
    var rows = summary.TrainingInteractions + summary.HeldOutInteractions;
    Console.WriteLine($"generate {format} users={options.Users} songs={options.Songs}: {summary.TrainingInteractions} training + " +
                      $"{summary.HeldOutInteractions} held-out interactions in {seconds:F1} s = {rows / seconds:N0} interactions/s, " +
                      $"{bytes / 1048576.0 / seconds:F1} MiB/s written ({bytes / 1048576.0:F1} MiB), peak working set {PeakMiB():F0} MiB");
}

static async Task Read(string schemaPath)
{
    var watch = Stopwatch.StartNew();
    await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
    long rows = 0;
    await foreach (var _ in reader) rows++;
    var seconds = watch.Elapsed.TotalSeconds;
    var bytes = new FileInfo(reader.Report.File).Length;
    Console.WriteLine($"read {Path.GetFileName(reader.Report.File)}: {rows:N0} rows in {seconds:F1} s = {rows / seconds:N0} rows/s, " +
                      $"{bytes / 1048576.0 / seconds:F1} MiB/s of file ({bytes / 1048576.0:F1} MiB), peak working set {PeakMiB():F0} MiB");
}

static async Task Baselines(string dir)
{
    var truth = await GroundTruth.LoadAsync(dir);
    foreach (var task in new[] { await SyntheticEvaluation.ColdUsersAsync(dir, truth), await SyntheticEvaluation.ColdSongsAsync(dir, truth) })
    {
        Console.WriteLine(await SyntheticEvaluation.PopularityAsync(dir, task));
        Console.WriteLine(SyntheticEvaluation.Oracle(truth, task));
    }
}

static void All(string dir, long interactions)
{
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores visible, .NET {Environment.Version}");
    foreach (var format in new[] { TableFormat.Csv, TableFormat.Parquet })
    {
        var world = Path.Combine(dir, format.ToString().ToLowerInvariant());
        if (Directory.Exists(world)) Directory.Delete(world, recursive: true);
        Child("generate", world, interactions.ToString(), format.ToString());
        Child("read", SyntheticWorldLayout.InteractionsSchema(world));
        Child("read", SyntheticWorldLayout.SongsSchema(world));
        Child("read", SyntheticWorldLayout.ExternalUsersSchema(world));
    }
}

// Each measurement in its own process so that peak memory belongs to that step alone.
static void Child(params string[] arguments)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = false };
    foreach (var a in arguments) start.ArgumentList.Add(a);
    using var process = Process.Start(start)!;
    process.WaitForExit();
    if (process.ExitCode != 0) throw new InvalidOperationException($"child {string.Join(' ', arguments)} failed with {process.ExitCode}");
}

static double PeakMiB()
{
    using var self = Process.GetCurrentProcess();
    self.Refresh();
    return self.PeakWorkingSet64 / 1048576.0;
}
