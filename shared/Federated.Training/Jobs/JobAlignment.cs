using Federated.Core.Jobs;
using System.Buffers.Binary;
using Federated.Crypto.Psi;
using Federated.Learning.Persistence;
using Federated.Training.Checkpoints;

namespace Federated.Training.Jobs;

/// <summary>This party's aligned rows of one job and round (from the PSI), persisted in the job folder.</summary>
internal sealed record AlignmentRecord(string StateId, long Rows, string JointSeedHex, string AlignedKeysPath, string AlignedSourceIndexPath)
{
    public byte[] JointSeed => Convert.FromHexString(JointSeedHex);

    /// <summary>Per aligned row, the row's position in this party's PSI source.</summary>
    public long[] SourceIndex()
    {
        var result = IndexFile.Read(AlignedSourceIndexPath);
        if (result.Length != Rows) throw new InvalidDataException($"{AlignedSourceIndexPath}: {result.Length} positions for {Rows} rows");
        return result;
    }
}

/// <summary>
/// The start of a job at either party: the hello (both must hold the same agreement fingerprint), then either the
/// stored alignment and the newest checkpoint both parties hold, or a fresh PSI (then training starts at step 0).
/// </summary>
internal static class JobAlignment
{
    public static string RecordPath(string jobFolder, RoundNumber round) => Path.Combine(jobFolder, $"alignment-r{round}.json");

    public static async Task<(AlignmentRecord Alignment, ulong ResumeStep)> AgreeAndAlignAsync(
        PsiRole role, PeerLink link, string party, TrainingJobOptions options, PartyJobPaths paths, IdSource ids,
        CheckpointStore checkpoints, CancellationToken ct)
    {
        var recordPath = RecordPath(paths.JobFolder, options.Round);
        AlignmentRecord? existing = File.Exists(recordPath) ? StateFiles.ReadJson<AlignmentRecord>(recordPath) : null;
        var fingerprint = options.AgreementFingerprint();
        var steps = checkpoints.AvailableSteps().ToArray();
        await link.SendJsonAsync(PeerLink.Hello, new JobHello(party, fingerprint, existing?.Rows ?? 0, existing?.StateId ?? "", steps), ct).ConfigureAwait(false);
        var peer = await link.ReceiveJsonAsync<JobHello>(PeerLink.Hello, ct).ConfigureAwait(false);
        if (peer.Fingerprint != fingerprint)
            throw new InvalidOperationException(
                $"job {options.Job}: the {peer.Party} runs with different job settings (fingerprint {peer.Fingerprint[..12]} vs {party} {fingerprint[..12]}): " +
                "model shape, schedule, mode, label DP or CKKS parameters differ");

        if (existing is not null && existing.StateId == peer.AlignmentStateId)
        {
            var common = steps.Intersect(peer.Checkpoints).DefaultIfEmpty(0UL).Max();
            return (existing, common);
        }

        // No common alignment: align afresh; earlier checkpoints refer to another row order.
        var psiFolder = Path.Combine(paths.JobFolder, $"psi-r{options.Round}");
        if (Directory.Exists(psiFolder)) Directory.Delete(psiFolder, recursive: true);
        foreach (var step in steps) Directory.Delete(checkpoints.PathOf(step), recursive: true);
        if (File.Exists(recordPath)) File.Delete(recordPath);
        var result = await PsiParty.RunAsync(role, link.Channel, ids,
            new PsiOptions { Domain = $"federated-training/{options.Run.Key}", JobFolder = psiFolder, MessageTimeout = options.MessageTimeout }, ct)
            .ConfigureAwait(false);
        var record = new AlignmentRecord(result.StateId, result.IntersectionSize, Convert.ToHexString(result.JointSeed),
            result.AlignedKeysPath, result.AlignedSourceIndexPath);
        StateFiles.WriteJson(recordPath, record);
        return (record, 0);
    }

    /// <summary>
    /// The M-only PSI of the evaluation (M: the requested users and every user it knows; E: all its users), in a fresh
    /// folder; M then sends an <see cref="EvaluationRequest"/> padded with decoys.
    /// </summary>
    public static async Task<PsiResult> AlignEvaluationAsync(PsiRole role, PeerLink link, TrainingJobOptions options, PartyJobPaths paths,
        IdSource ids, CancellationToken ct)
    {
        var folder = Path.Combine(paths.JobFolder, $"psi-eval-r{options.Round}");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        return await PsiParty.RunAsync(role, link.Channel, ids,
            new PsiOptions
            {
                Domain = $"federated-evaluation/{options.Run.Key}", JobFolder = folder, MessageTimeout = options.MessageTimeout,
                IntersectionForMusicOnly = true,
            }, ct)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// The party's own seed: given, or drawn once and kept in the job folder (owner-only) so a resumed run continues
    /// alike. It drives batch sampling and negatives; secret randomness has its own key (<c>SecretRandomness</c>).
    /// </summary>
    public static ulong PartySeed(PartyJobPaths paths)
    {
        if (paths.Seed is { } given) return given;
        var path = Path.Combine(paths.JobFolder, "party-seed.txt");
        if (File.Exists(path)) return ulong.Parse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var seed = BinaryPrimitives.ReadUInt64LittleEndian(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(path, seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return seed;
    }
}
