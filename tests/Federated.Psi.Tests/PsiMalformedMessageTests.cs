using Federated.Core;
using Federated.Crypto.Psi;

namespace Federated.Psi.Tests;

public sealed class PsiMalformedMessageTests
{
    /// <summary>Applies <paramref name="change"/> to the first message of <paramref name="type"/> only.</summary>
    private static Func<PeerMessage, PeerMessage> First(string type, Func<PeerMessage, PeerMessage> change)
    {
        int done = 0;
        return m => m.MessageType == type && Interlocked.Exchange(ref done, 1) == 0 ? change(m) : m;
    }

    private static byte[] Copy(PeerMessage m) => m.Payload.ToArray();

    private static async Task<(TVictim Victim, Exception Peer)> Run<TVictim>(
        bool tamperExternal, Func<PeerMessage, PeerMessage> tamper) where TVictim : Exception
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(400, 400, 0.5);
        var outcome = tamperExternal ? h.Start(m, e, "bad", tamperExternalSends: tamper) : h.Start(m, e, "bad", tamperMusicSends: tamper);
        var victim = await Assert.ThrowsAsync<TVictim>(() => tamperExternal ? outcome.Music : outcome.External);
        var peer = await Assert.ThrowsAnyAsync<Exception>(() => tamperExternal ? outcome.External : outcome.Music);
        return (victim, peer);
    }

    [Fact]
    public async Task Wrong_length_point_chunk_is_rejected()
    {
        var (ex, peer) = await Run<ProtocolViolationException>(true, First("psi.blinded", m => m with { Payload = Copy(m)[..^1] }));
        Assert.Contains("psi.blinded: payload is", ex.Message);
        Assert.Equal(FailureCategory.Protocol, Assert.IsType<PeerAbortedException>(peer).PeerCategory);
    }

    [Fact]
    public async Task Invalid_point_encoding_is_rejected()
    {
        var (ex, _) = await Run<ProtocolViolationException>(true, First("psi.blinded", m =>
        {
            var p = Copy(m);
            p.AsSpan(8 + 32 * 3, 32).Fill(0xff); // not a canonical field element
            return m with { Payload = p };
        }));
        Assert.Contains("point at position 3 is not a valid ristretto255 encoding", ex.Message);
    }

    [Fact]
    public async Task Identity_point_is_rejected()
    {
        var (ex, _) = await Run<ProtocolViolationException>(false, First("psi.blinded", m =>
        {
            var p = Copy(m);
            p.AsSpan(8, 32).Clear();
            return m with { Payload = p };
        }));
        Assert.Contains("point at position 0", ex.Message);
    }

    [Fact]
    public async Task Message_out_of_order_is_rejected()
    {
        var (ex, _) = await Run<ProtocolViolationException>(true, First("psi.hello", m => m with { MessageType = "psi.blinded" }));
        Assert.Contains("expected message 'psi.hello' but received 'psi.blinded'", ex.Message);
    }

    [Fact]
    public async Task Reblinded_points_sent_to_the_external_party_are_rejected()
    {
        var (ex, _) = await Run<ProtocolViolationException>(false, First("psi.blinded", m => m with { MessageType = "psi.reblinded" }));
        Assert.Contains("unexpected message 'psi.reblinded'", ex.Message);
    }

    [Fact]
    public async Task Chunk_out_of_sequence_is_rejected()
    {
        var (ex, _) = await Run<ProtocolViolationException>(true, First("psi.blinded", m =>
        {
            var p = Copy(m);
            p[0] = 5; // start position 5 instead of 0
            return m with { Payload = p };
        }));
        Assert.Contains("chunk starts at 5, expected 0", ex.Message);
    }

    [Fact]
    public async Task Seed_reveal_that_breaks_the_commitment_is_rejected()
    {
        var (ex, _) = await Run<ProtocolViolationException>(true, First("psi.reveal", m =>
        {
            var json = System.Text.Encoding.UTF8.GetString(m.Payload.Span);
            int i = json.IndexOf("\"share\":\"", StringComparison.Ordinal) + 9;
            var changed = json[..i] + (json[i] == '0' ? '1' : '0') + json[(i + 1)..];
            return m with { Payload = System.Text.Encoding.UTF8.GetBytes(changed) };
        }));
        Assert.Contains("does not match its commitment", ex.Message);
    }

    [Fact]
    public async Task Malformed_control_message_is_rejected()
    {
        var (ex, _) = await Run<ProtocolViolationException>(true, First("psi.hello", m => m with { Payload = "{\"protocol\":"u8.ToArray() }));
        Assert.Contains("malformed psi.hello", ex.Message);
    }

    [Fact]
    public async Task Forged_match_is_rejected_by_the_external_party()
    {
        var (ex, _) = await Run<ProtocolViolationException>(false, First("psi.matches", m =>
        {
            var p = Copy(m);
            p[8 + 4 + 31] ^= 1; // change the double-blinded value of row 0
            return m with { Payload = p };
        }));
        Assert.Contains("row 0", ex.Message);
    }

    [Fact]
    public async Task A_disputed_confirmation_fails_both_parties()
    {
        var (ex, peer) = await Run<ProtocolViolationException>(true, First("psi.confirm", m =>
            m with { Payload = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(m.Payload.Span).Replace("\"count\":200", "\"count\":199")) }));
        Assert.Contains("psi.confirm", ex.Message);
        Assert.Equal(FailureCategory.Protocol, Assert.IsType<PeerAbortedException>(peer).PeerCategory);
    }
}
