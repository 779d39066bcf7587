using Federated.Crypto.Psi;

namespace Federated.Training.Jobs;

/// <summary>
/// The batch order both parties compute alike: per epoch a permutation of the aligned rows from the PSI joint seed,
/// cut into batches of <c>batchSize</c> rows (the last one of an epoch may be smaller).
/// </summary>
public sealed class TrainingSchedule
{
    private readonly byte[] _jointSeed;
    private int _cachedEpoch = -1;
    private int[] _cachedPermutation = [];

    public TrainingSchedule(byte[] jointSeed, int alignedRows, int batchSize, int epochs)
    {
        if (alignedRows < 2) throw new ArgumentOutOfRangeException(nameof(alignedRows), alignedRows, "training needs at least two aligned users");
        _jointSeed = jointSeed;
        AlignedRows = alignedRows;
        BatchSize = Math.Min(batchSize, alignedRows);
        Epochs = epochs;
        StepsPerEpoch = (alignedRows + BatchSize - 1) / BatchSize;
    }

    public int AlignedRows { get; }
    public int BatchSize { get; }
    public int Epochs { get; }
    public int StepsPerEpoch { get; }
    public ulong TotalSteps => (ulong)StepsPerEpoch * (ulong)Epochs;

    public int EpochOf(ulong step) => (int)(step / (ulong)StepsPerEpoch);

    /// <summary>The aligned row indices (canonical PSI order) of a step's batch.</summary>
    public int[] Rows(ulong step)
    {
        if (step >= TotalSteps) throw new ArgumentOutOfRangeException(nameof(step), step, $"the schedule has {TotalSteps} steps");
        int epoch = EpochOf(step);
        if (epoch != _cachedEpoch)
        {
            _cachedPermutation = JointSeed.EpochPermutation(_jointSeed, epoch, AlignedRows);
            _cachedEpoch = epoch;
        }
        int start = (int)(step % (ulong)StepsPerEpoch) * BatchSize;
        int end = Math.Min(AlignedRows, start + BatchSize);
        return _cachedPermutation[start..end];
    }
}
