using System.Globalization;
using Federated.Core.Jobs;
using Federated.Operator;
using Federated.Synthetic;

namespace Federated.Local.Commands;

/// <summary>
/// The demo's world and training sizes. "demo" is the default: it must finish in a few minutes on 2 cores;
/// "tiny" (--quick) is for tests and smoke runs.
/// </summary>
public sealed record DemoSize(string Name, SyntheticWorldOptions World, int Epochs, int BatchSize, int CheckpointEvery, int PretrainEpochs)
{
    public static DemoSize Parse(string name) => name.ToLowerInvariant() switch
    {
        "tiny" => new("tiny", SyntheticWorldOptions.Tiny, Epochs: 3, BatchSize: 256, CheckpointEvery: 5, PretrainEpochs: 3),
        "small" => new("small", new SyntheticWorldOptions { Users = 6_000, Songs = 5_000, Seed = 7 }, Epochs: 8, BatchSize: 1024, CheckpointEvery: 10, PretrainEpochs: 10),
        "demo" => new("demo", new SyntheticWorldOptions { Users = 6_000, Songs = 5_000, Seed = 7 }, Epochs: 40, BatchSize: 256, CheckpointEvery: 40, PretrainEpochs: 10),
        _ => throw new OperatorException($"--size '{name}': use tiny, small or demo"),
    };

    /// <summary>The train job's parameters (the same strings go to both parties).</summary>
    public Dictionary<string, string> TrainParameters(string trainingJob, string evaluationUsersFile, bool plaintext)
    {
        var parameters = new Dictionary<string, string>
        {
            [JobParameterNames.TrainingJob] = trainingJob,
            ["mode"] = plaintext ? "plaintext" : "encrypted",
            ["epochs"] = Epochs.ToString(CultureInfo.InvariantCulture),
            ["batchSize"] = BatchSize.ToString(CultureInfo.InvariantCulture),
            ["checkpointEvery"] = CheckpointEvery.ToString(CultureInfo.InvariantCulture),
            ["pretrainEpochs"] = PretrainEpochs.ToString(CultureInfo.InvariantCulture),
            ["evaluationUsers"] = evaluationUsersFile,
        };
        if (plaintext) parameters["insecure"] = "plaintext-reference"; // the explicit flag the plaintext reference needs
        return parameters;
    }
}
