using System.Globalization;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Training.Checkpoints;

/// <summary>
/// One party's checkpoints of one job and round: <c>&lt;job folder&gt;/checkpoints/r&lt;round&gt;/step-&lt;n&gt;/</c>, each
/// written into a temporary folder and renamed into place, so a crash leaves either a whole checkpoint or none.
/// The newest <c>kept</c> are kept. Files stay inside the party's job folder.
/// </summary>
public sealed class CheckpointStore
{
    private const string Prefix = "step-";
    private readonly int _kept;

    public CheckpointStore(string jobFolder, int round, int kept)
    {
        Root = Path.Combine(jobFolder, "checkpoints", $"r{round}");
        _kept = kept;
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>Steps with a complete checkpoint, ascending.</summary>
    public IReadOnlyList<ulong> AvailableSteps() =>
        Directory.GetDirectories(Root, Prefix + "*")
            .Select(Path.GetFileName)
            .Select(n => ulong.TryParse(n![Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? (ulong?)s : null)
            .Where(s => s is not null).Select(s => s!.Value).Order().ToArray();

    public string PathOf(ulong step) => Path.Combine(Root, $"{Prefix}{step:D8}");

    /// <summary>Writes a checkpoint through <paramref name="write"/> (given an empty folder) and publishes it atomically.</summary>
    public void Save(ulong step, Action<string> write)
    {
        var final = PathOf(step);
        if (Directory.Exists(final)) return; // the same step was already checkpointed (a resumed run passing it again)
        var temporary = final + ".tmp";
        if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        Directory.CreateDirectory(temporary);
        write(temporary);
        Directory.Move(temporary, final);
        foreach (var old in AvailableSteps().SkipLast(_kept)) Directory.Delete(PathOf(old), recursive: true);
    }

    // Helpers for the party-specific checkpoint writers.

    internal static void SaveTensor(Tensor t, string path)
    {
        using var scope = NewDisposeScope();
        var values = t.detach().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(t.dim());
        foreach (var size in t.shape) writer.Write(size);
        foreach (var v in values) writer.Write(v);
    }

    /// <summary>Reads a tensor written by <see cref="SaveTensor"/>: its shape and values as doubles.</summary>
    internal static (long[] Shape, double[] Values) ReadTensor(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var rank = reader.ReadInt64();
        if (rank is < 0 or > 8) throw new InvalidDataException($"checkpoint tensor {path} is corrupt (rank {rank})");
        var shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = reader.ReadInt64();
        var values = new double[shape.Aggregate(1L, (a, b) => a * b)];
        for (long i = 0; i < values.Length; i++) values[i] = reader.ReadDouble();
        return (shape, values);
    }

    /// <summary>Copies a saved tensor into <paramref name="target"/> (same shape), keeping its dtype.</summary>
    internal static void LoadTensorInto(Tensor target, string path)
    {
        var (shape, values) = ReadTensor(path);
        if (!shape.SequenceEqual(target.shape))
            throw new InvalidDataException($"checkpoint tensor {Path.GetFileName(path)} has shape [{string.Join(", ", shape)}], expected [{string.Join(", ", target.shape)}]");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        target.copy_(tensor(values, shape, ScalarType.Float64).to_type(target.dtype));
    }

    internal static string GeneratorState(Generator generator)
    {
        using var state = generator.get_state();
        return Convert.ToBase64String(state.data<byte>().ToArray());
    }

    internal static void RestoreGenerator(Generator generator, string base64)
    {
        using var state = tensor(Convert.FromBase64String(base64), ScalarType.Byte);
        generator.set_state(state);
    }

    internal static void WriteJson<T>(string path, T value) => File.WriteAllText(path, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }));

    internal static T ReadJson<T>(string path) =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(path)) ?? throw new InvalidDataException($"checkpoint file {path} is empty");
}
