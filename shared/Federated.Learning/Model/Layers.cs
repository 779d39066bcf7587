using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning.Model;

internal static class Layers
{
    /// <summary>Linear + ReLU for each hidden width, then a final Linear to <paramref name="output"/>.</summary>
    public static Sequential Mlp(int input, IReadOnlyList<int> hidden, int output)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        int width = input;
        for (int i = 0; i < hidden.Count; i++)
        {
            layers.Add(($"linear{i}", nn.Linear(width, hidden[i])));
            layers.Add(($"relu{i}", nn.ReLU()));
            width = hidden[i];
        }
        layers.Add(("output", nn.Linear(width, output)));
        return nn.Sequential(layers);
    }

    /// <summary>Offsets that map per-column ids into one shared embedding table (column c starts after columns 0..c-1).</summary>
    public static long[] ColumnOffsets(IReadOnlyList<int> cardinalities)
    {
        var offsets = new long[cardinalities.Count];
        long start = 0;
        for (int c = 0; c < cardinalities.Count; c++) { offsets[c] = start; start += cardinalities[c]; }
        return offsets;
    }
}
