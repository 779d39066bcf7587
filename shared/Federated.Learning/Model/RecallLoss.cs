using static TorchSharp.torch;

namespace Federated.Learning.Model;

/// <summary>The recall losses on L2-normalised user and item vectors, score = cosine / temperature.</summary>
public static class RecallLoss
{
    /// <summary>
    /// In-batch sampled softmax with logQ correction (Yi et al., RecSys 2019): row i's positive is item i, the other
    /// rows' items are its negatives; each logit is corrected by minus the log sampling probability of its item so
    /// popular items are not over-penalised. Columns holding the same song as row i's positive are excluded.
    /// Returns the mean loss over rows.
    /// </summary>
    public static Tensor InBatchSoftmax(Tensor users, Tensor items, Tensor songIds, Tensor logQ, double temperature)
    {
        using var scope = NewDisposeScope();
        long rows = users.shape[0];
        var logits = users.mm(items.t()).DividedBy(temperature) - logQ.unsqueeze(0);
        var sameSong = songIds.unsqueeze(1).eq(songIds.unsqueeze(0)).logical_and(eye(rows, dtype: ScalarType.Bool).logical_not());
        logits = logits.MaskedFill(sameSong, -1e9);
        return nn.functional.cross_entropy(logits, TorchScalars.Range(rows, ScalarType.Int64)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Binary cross-entropy on the positive (label 1) and sampled negatives (label 0) per row; a negative that is
    /// the row's own positive song is ignored. users [B, d], positives [B, d], negatives [B, n, d]; mean over rows.
    /// </summary>
    public static Tensor SampledBinaryCrossEntropy(Tensor users, Tensor positives, Tensor negatives,
        Tensor positiveIds, Tensor negativeIds, double temperature)
    {
        using var scope = NewDisposeScope();
        var positiveLogits = (users * positives).sum(1).DividedBy(temperature);
        var negativeLogits = (users.unsqueeze(1) * negatives).sum(2).DividedBy(temperature);
        var valid = negativeIds.ne(positiveIds.unsqueeze(1)).to_type(ScalarType.Float32);
        var positiveLoss = nn.functional.binary_cross_entropy_with_logits(positiveLogits, ones_like(positiveLogits), reduction: nn.Reduction.None);
        var negativeLoss = nn.functional.binary_cross_entropy_with_logits(negativeLogits, zeros_like(negativeLogits), reduction: nn.Reduction.None);
        var perRow = positiveLoss.Plus((negativeLoss * valid).sum(1) / valid.sum(1).ClampMin(1));
        return perRow.mean().MoveToOuterDisposeScope();
    }
}
