using Federated.Core;
using Federated.Learning.Crypto;
using Federated.Learning.Persistence;
using TorchSharp;

namespace Federated.Training.Jobs;

/// <summary>
/// What both parties' jobs do around their own work: check the arguments, open the link to the peer with the job's
/// message timeout, and on a failure tell the peer (Core's abort convention: the category only) before rethrowing.
/// A peer that stopped answering is not told; a peer that aborted is not answered with an abort.
/// </summary>
internal static class PartyJobRunner
{
    public static async Task<T> RunAsync<T>(IPeerChannel peer, PartyJobPaths paths, TrainingJobOptions options, string peerParty,
        Func<PeerLink, Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var link = new PeerLink(peer, peerParty, options.MessageTimeout);
        try
        {
            return await work(link).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not PeerTimeoutException)
        {
            await link.TryAbortAsync(e).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A party's trained model and its weight half, versioned per job and round, in its own job folder.</summary>
    public static void SaveModel(PartyJobPaths paths, TrainingJobOptions options, torch.nn.Module model, string modelFile,
        DenseMatrix weightHalf, string weightHalfFile)
    {
        var folder = Path.Combine(paths.JobFolder, "models", $"r{options.Round}");
        Directory.CreateDirectory(folder);
        model.save(Path.Combine(folder, modelFile));
        using var weights = weightHalf.ToTensor();
        StateFiles.SaveTensor(weights, Path.Combine(folder, weightHalfFile));
    }
}
