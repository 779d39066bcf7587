using Federated.Learning.Model;
using Federated.Learning.Privacy;
using Federated.Learning.Split;
using Federated.Training.Checkpoints;

namespace Federated.Training.Jobs;

/// <summary>M's checkpoint: top model, optimiser, W_M, random generators (init, negatives, label-DP noise), DP ledger, step.</summary>
internal static class MusicCheckpoint
{
    private sealed record State(ulong Step, string Generator, string NegativeSampler, string LabelDpGenerator, long DpSteps, double[] ComposedRdp, string SongsSeen);

    public static void Save(string folder, MusicTopModel top, MusicPartyRole role, ulong step)
    {
        top.save(Path.Combine(folder, "top.bin"));
        ((TorchSharp.Modules.OptimizerHelper)RoleStateAccess.Music.Optimiser(role)).save_state_dict(Path.Combine(folder, "optimiser.bin"));
        CheckpointStore.SaveTensor(RoleStateAccess.Music.WeightHalf(role), Path.Combine(folder, "weight-half.bin"));
        var (dpSteps, rdp) = RoleStateAccess.Music.Ledger(role);
        CheckpointStore.WriteJson(Path.Combine(folder, "state.json"), new State(step,
            CheckpointStore.GeneratorState(RoleStateAccess.Music.Generator(role)),
            CheckpointStore.GeneratorState(RoleStateAccess.Music.NegativeSampler(role)),
            CheckpointStore.GeneratorState(RoleStateAccess.Music.LabelDpGenerator(role)), dpSteps, rdp,
            Convert.ToBase64String(RoleStateAccess.Top.SongSeen(top).Select(b => (byte)(b ? 1 : 0)).ToArray())));
    }

    public static void Restore(string folder, MusicTopModel top, MusicPartyRole role, ulong step)
    {
        var state = CheckpointStore.ReadJson<State>(Path.Combine(folder, "state.json"));
        if (state.Step != step) throw new InvalidDataException($"checkpoint {folder} is for step {state.Step}, expected {step}");
        top.load(Path.Combine(folder, "top.bin"));
        ((TorchSharp.Modules.OptimizerHelper)RoleStateAccess.Music.Optimiser(role)).load_state_dict(Path.Combine(folder, "optimiser.bin"));
        CheckpointStore.LoadTensorInto(RoleStateAccess.Music.WeightHalf(role), Path.Combine(folder, "weight-half.bin"));
        CheckpointStore.RestoreGenerator(RoleStateAccess.Music.Generator(role), state.Generator);
        CheckpointStore.RestoreGenerator(RoleStateAccess.Music.NegativeSampler(role), state.NegativeSampler);
        CheckpointStore.RestoreGenerator(RoleStateAccess.Music.LabelDpGenerator(role), state.LabelDpGenerator);
        RoleStateAccess.Music.RestoreLedger(role, state.DpSteps, state.ComposedRdp);
        var seen = RoleStateAccess.Top.SongSeen(top);
        var saved = Convert.FromBase64String(state.SongsSeen);
        if (saved.Length != seen.Length) throw new InvalidDataException($"checkpoint {folder} holds {saved.Length} songs, the model {seen.Length}");
        for (int i = 0; i < seen.Length; i++) seen[i] = saved[i] != 0;
        RoleStateAccess.Music.SetStep(role, step);
    }

    /// <summary>ε spent at the job's δ, from the ledger (also right for a run resumed after its last step).</summary>
    public static (double? Epsilon, double? Delta) Spent(MusicPartyRole role, TrainingJobOptions options)
    {
        if (options.LabelDp is null) return (null, null);
        var (steps, rdp) = RoleStateAccess.Music.Ledger(role);
        if (steps == 0) return (0, options.LabelDp.Delta);
        var spent = RenyiDpAccountant.EpsilonFromRdp(RenyiDpAccountant.DefaultOrders, rdp, options.LabelDp.Delta);
        return (spent.Epsilon, spent.Delta);
    }
}
