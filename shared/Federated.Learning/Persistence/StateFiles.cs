using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Learning.Persistence;

/// <summary>
/// The file formats of a party's saved state (checkpoints, model files): tensors as float64 with their shape, random
/// generator states, small JSON records. Everything is written inside the owning party's folders only.
/// </summary>
public static class StateFiles
{
    /// <summary>Writes rank, shape and float64 values (exact for float32 and float64 tensors).</summary>
    public static void SaveTensor(Tensor t, string path)
    {
        using var scope = NewDisposeScope();
        var values = t.detach().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(t.dim());
        foreach (var size in t.shape) writer.Write(size);
        foreach (var v in values) writer.Write(v);
    }

    /// <summary>Reads a tensor written by <see cref="SaveTensor"/>: its shape and values as doubles.</summary>
    public static (long[] Shape, double[] Values) ReadTensor(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var rank = reader.ReadInt64();
        if (rank is < 0 or > 8) throw new InvalidDataException($"saved tensor {path} is corrupt (rank {rank})");
        var shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = reader.ReadInt64();
        var values = new double[shape.Aggregate(1L, (a, b) => a * b)];
        for (long i = 0; i < values.Length; i++) values[i] = reader.ReadDouble();
        return (shape, values);
    }

    /// <summary>Copies a saved tensor into <paramref name="target"/> (same shape), keeping its dtype.</summary>
    public static void LoadTensorInto(Tensor target, string path)
    {
        var (shape, values) = ReadTensor(path);
        if (!shape.SequenceEqual(target.shape))
            throw new InvalidDataException($"saved tensor {Path.GetFileName(path)} has shape [{string.Join(", ", shape)}], expected [{string.Join(", ", target.shape)}]");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        target.copy_(tensor(values, shape, ScalarType.Float64).to_type(target.dtype));
    }

    public static string GeneratorState(Generator generator)
    {
        using var state = generator.get_state();
        return Convert.ToBase64String(state.data<byte>().ToArray());
    }

    public static void RestoreGenerator(Generator generator, string base64)
    {
        using var state = tensor(Convert.FromBase64String(base64), ScalarType.Byte);
        generator.set_state(state);
    }

    public static void SaveOptimiser(optim.Optimizer optimiser, string path) => ((TorchSharp.Modules.OptimizerHelper)optimiser).save_state_dict(path);

    public static void LoadOptimiser(optim.Optimizer optimiser, string path) => ((TorchSharp.Modules.OptimizerHelper)optimiser).load_state_dict(path);

    public static void WriteJson<T>(string path, T value) => File.WriteAllText(path, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }));

    public static T ReadJson<T>(string path) =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(path)) ?? throw new InvalidDataException($"state file {path} is empty");
}
