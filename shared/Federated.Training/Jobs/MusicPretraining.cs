using Federated.Learning;
using Federated.Learning.Model;
using Federated.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Training.Jobs;

/// <summary>
/// M-local pretraining of the top model with z_E = 0 on every user M can train on (its user part, including its own
/// user-id embedding, stands in for E): plaintext, no message leaves M. It gives the item tower all of M's
/// interactions before the encrypted steps, and it is the whole of the "M alone" baseline.
/// </summary>
internal static class MusicPretraining
{
    public static void Run(MusicTopModel top, SongCatalog catalog, MusicPartyData data, TrainingJobOptions options, ulong seed,
        int epochs, IProgress<TrainingProgress>? progress, string party, CancellationToken ct)
    {
        if (epochs <= 0) return;
        var users = data.TrainableUserKeys;
        var order = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"federated-training/m-pretraining/{seed}"));
        var schedule = new TrainingSchedule(order, users.Length, options.BatchSize, epochs);
        var batches = new MusicBatchBuilder(data, users, seed ^ 0xA5A5A5A5UL, options.Model.MusicPretrainDropout, options.Model);
        using var optimiser = TorchOptimisers.Adam(top.parameters(), options.Model.TopLearningRate);
        using var negatives = new Generator(seed ^ 0x5DEECE66DUL);
        int d = options.Model.InteractiveWidth;
        for (ulong step = 0; step < schedule.TotalSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            var rows = schedule.Rows(step);
            using var scope = NewDisposeScope();
            optimiser.zero_grad();
            var loss = top.Loss(zeros(rows.Length, d), batches.Batch(schedule.EpochOf(step), rows), catalog, negatives);
            loss.backward();
            optimiser.step();
            if ((step + 1) % 50 == 0 || step + 1 == schedule.TotalSteps)
                progress?.Report(new TrainingProgress(party, "M pretraining", step + 1, schedule.TotalSteps, loss.item<float>()));
        }
    }
}
