using Federated.Learning.Model;
using Federated.Learning.Persistence;
using Federated.Learning.Split;

namespace Federated.Training.Jobs;

/// <summary>M's checkpoint: the top model's parameters and seen songs, and the role's own state (optimiser, W_M, generators, DP ledger, step).</summary>
internal static class MusicCheckpoint
{
    private sealed record State(ulong Step, bool[] SongsSeen);

    public static void Save(string folder, MusicTopModel top, MusicPartyRole role, ulong step)
    {
        if (role.CompletedSteps != step) throw new InvalidOperationException($"M's role is at step {role.CompletedSteps}, the checkpoint is for step {step}");
        top.save(Path.Combine(folder, "top.bin"));
        role.SaveState(folder);
        StateFiles.WriteJson(Path.Combine(folder, "state.json"), new State(step, top.ExportSeenSongs()));
    }

    public static void Restore(string folder, MusicTopModel top, MusicPartyRole role, ulong step)
    {
        var state = StateFiles.ReadJson<State>(Path.Combine(folder, "state.json"));
        if (state.Step != step) throw new InvalidDataException($"checkpoint {folder} is for step {state.Step}, expected {step}");
        top.load(Path.Combine(folder, "top.bin"));
        top.ImportSeenSongs(state.SongsSeen);
        role.RestoreState(folder);
        if (role.CompletedSteps != step) throw new InvalidDataException($"checkpoint {folder}: the role's state is for step {role.CompletedSteps}, expected {step}");
    }

    /// <summary>ε spent at the job's δ, from the ledger (also right for a run resumed after its last step).</summary>
    public static (double? Epsilon, double? Delta) Spent(MusicPartyRole role, TrainingJobOptions options) =>
        options.LabelDp is null || role.PrivacySpent is not { } spent ? (null, null) : (spent.Epsilon, spent.Delta);
}
