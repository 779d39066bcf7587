using Federated.Learning.Model;
using Federated.Learning.Protocol.V1;

namespace Federated.Learning.Split;

/// <summary>Bytes of each message type that crossed the boundary in one step (or setup), and the mode they crossed in.</summary>
public sealed record ExchangeTraffic(IReadOnlyDictionary<string, long> BytesByMessage, CryptoMode Mode)
{
    public long TotalBytes => BytesByMessage.Values.Sum();
    /// <summary>True when the values crossed unencrypted (plaintext reference mode).</summary>
    public bool IsInsecure => Mode == CryptoMode.PlaintextReference;
}

/// <summary>
/// Runs both roles in one process, passing every message through its transport encoding (protobuf bytes and
/// <see cref="Federated.Core.PeerMessage"/> type), exactly as the relay would carry it. For tests and benchmarks;
/// hosts wire the roles to the real transport instead.
/// </summary>
public static class InProcessSplitExchange
{
    /// <summary>Key announcements of E and M.</summary>
    public static ExchangeTraffic Setup(ExternalPartyRole external, MusicPartyRole music)
    {
        var traffic = new Dictionary<string, long>();
        var fromM = music.Handle(Carry(external.AnnounceKeys(), traffic)) ?? throw new InvalidOperationException("M did not answer E's key announcement");
        var done = external.Handle(Carry(fromM, traffic));
        if (done is not null) throw new InvalidOperationException("E answered M's key announcement; the setup should end there");
        return new ExchangeTraffic(traffic, external.Mode);
    }

    /// <summary>One full training step F1..B5 on aligned batches.</summary>
    public static ExchangeTraffic Step(ExternalPartyRole external, MusicPartyRole music, ExternalBatch externalBatch, MusicBatch musicBatch)
    {
        var traffic = new Dictionary<string, long>();
        music.PrepareStep(musicBatch);
        var f1 = Carry(external.BeginStep(externalBatch), traffic);
        var f2 = Carry(music.Handle(f1) ?? throw new InvalidOperationException("M did not answer F1"), traffic);
        var f3 = Carry(external.Handle(f2) ?? throw new InvalidOperationException("E did not answer F2"), traffic);
        var b2 = Carry(music.Handle(f3) ?? throw new InvalidOperationException("M did not answer F3"), traffic);
        var b3 = Carry(external.Handle(b2) ?? throw new InvalidOperationException("E did not answer B2"), traffic);
        var b4 = Carry(music.Handle(b3) ?? throw new InvalidOperationException("M did not answer B3"), traffic);
        if (external.Handle(b4) is not null) throw new InvalidOperationException("E answered B4; the step should end there");
        return new ExchangeTraffic(traffic, external.Mode);
    }

    /// <summary>Inference F1..F3 for a batch of users; returns M's L2-normalised user vectors [B, d] (a copy).</summary>
    public static TorchSharp.torch.Tensor Infer(ExternalPartyRole external, MusicPartyRole music, ExternalBatch externalBatch,
        long[]? userCategorical = null, bool[]? userKnown = null)
    {
        var traffic = new Dictionary<string, long>();
        music.PrepareInference(externalBatch.Rows, userCategorical, userKnown);
        var f1 = Carry(external.BeginInference(externalBatch), traffic);
        var f2 = Carry(music.Handle(f1) ?? throw new InvalidOperationException("M did not answer F1"), traffic);
        var f3 = Carry(external.Handle(f2) ?? throw new InvalidOperationException("E did not answer F2"), traffic);
        if (music.Handle(f3) is not null) throw new InvalidOperationException("M answered F3 of an inference; it should end there");
        return music.LastUserVectors!.clone();
    }

    private static SplitTrainingMessage Carry(SplitTrainingMessage message, Dictionary<string, long> traffic)
    {
        var wire = SplitTrainingMessages.ToPeerMessage(message);
        traffic[wire.MessageType] = traffic.GetValueOrDefault(wire.MessageType) + wire.Payload.Length;
        return SplitTrainingMessages.FromPeerMessage(wire);
    }
}
