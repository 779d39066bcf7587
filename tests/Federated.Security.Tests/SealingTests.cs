using Federated.Core.Jobs;
using System.Security.Cryptography;
using System.Text;
using static Federated.Security.Tests.TestCertificates;

namespace Federated.Security.Tests;

public sealed class SealingTests(TestCertificates certs) : IClassFixture<TestCertificates>
{
    private static SealedHeader MusicToExternal(ulong sequence, string type = "train.F1", long step = 7)
        => new(JobId, type, "music", "external", sequence, step);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(1 << 20)]
    public void Sealed_payload_round_trips_and_hides_the_plaintext(int size)
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var plaintext = new byte[size];
            new Random(size).NextBytes(plaintext);
            var header = MusicToExternal(1);

            var sealedPayload = music.Seal(header, plaintext);

            Assert.Equal(size + SessionKey.Overhead, sealedPayload.Length);
            if (size >= 16) Assert.True(sealedPayload.AsSpan().IndexOf(plaintext.AsSpan(0, 16)) < 0);
            Assert.Equal(plaintext, external.Open(header, sealedPayload));
        }
    }

    [Fact]
    public void Flipping_any_byte_of_the_sealed_payload_makes_open_fail()
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var header = MusicToExternal(1);
            var sealedPayload = music.Seal(header, "masked activations z_E"u8);
            for (var i = 0; i < sealedPayload.Length; i++)
            {
                var tampered = sealedPayload.ToArray();
                tampered[i] ^= 0x01;
                Assert.Throws<SealingException>(() => external.Open(header, tampered));
            }
            // A failed open does not move the receiver: the genuine payload still opens.
            Assert.Equal("masked activations z_E"u8.ToArray(), external.Open(header, sealedPayload));
        }
    }

    public static TheoryData<string> HeaderFields => ["JobId", "MessageType", "Sender", "Receiver", "Sequence", "Step"];

    [Theory]
    [MemberData(nameof(HeaderFields))]
    public void Changing_any_header_field_in_transit_makes_open_fail(string field)
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var header = MusicToExternal(5, "train.F1", 7);
            var sealedPayload = music.Seal(header, "payload"u8);
            var altered = field switch
            {
                "JobId" => header with { Attempt = new AttemptId("job-2026-11-23-b") },
                "MessageType" => header with { MessageType = "train.F2" },
                "Sender" => header with { Sender = "external", Receiver = "music" },
                "Receiver" => header with { Receiver = "coordinator" },
                "Sequence" => header with { Sequence = 6 },
                "Step" => header with { Step = 8 },
                _ => throw new ArgumentOutOfRangeException(nameof(field)),
            };

            Assert.Throws<SealingException>(() => external.Open(altered, sealedPayload));
            Assert.Equal("payload"u8.ToArray(), external.Open(header, sealedPayload));
        }
    }

    [Theory]
    [InlineData("MessageType")]
    [InlineData("Sequence")]
    [InlineData("Step")]
    public void Fields_that_pass_the_session_checks_are_caught_by_the_authentication_tag(string field)
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var header = MusicToExternal(5);
            var sealedPayload = music.Seal(header, "payload"u8);
            var altered = field switch
            {
                "MessageType" => header with { MessageType = "train.F1x" },
                "Sequence" => header with { Sequence = 9 },
                _ => header with { Step = -1 },
            };
            var error = Assert.Throws<SealingException>(() => external.Open(altered, sealedPayload));
            Assert.Contains("authentication failed", error.Message);
        }
    }

    [Fact]
    public void Associated_data_is_unambiguous_across_field_boundaries()
    {
        var a = new SealedHeader(new AttemptId("job"), "ab", "music", "external", 1, 2).ToAssociatedData();
        var b = new SealedHeader(new AttemptId("joba"), "b", "music", "external", 1, 2).ToAssociatedData();
        var c = new SealedHeader(new AttemptId("job"), "ab", "music", "external", 2, 1).ToAssociatedData();
        Assert.NotEqual(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(a, new SealedHeader(new AttemptId("job"), "ab", "music", "external", 1, 2).ToAssociatedData());
    }

    [Fact]
    public void The_two_directions_use_different_keys()
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var plaintext = new byte[64];
            var fromMusic = music.Seal(new SealedHeader(JobId, "x", "music", "external", 1, 0), plaintext);
            var fromExternal = external.Seal(new SealedHeader(JobId, "x", "external", "music", 1, 0), plaintext);
            // Same plaintext, sequence and type: equal keystreams would give equal ciphertexts.
            Assert.False(fromMusic.AsSpan(1, 64).SequenceEqual(fromExternal.AsSpan(1, 64)));

            // A relay that reflects music's own message back to it, relabelled as coming from external, fails.
            var reflected = new SealedHeader(JobId, "x", "external", "music", 1, 0);
            Assert.Throws<SealingException>(() => music.Open(reflected, fromMusic));
            Assert.Equal(plaintext, music.Open(reflected, fromExternal));
        }
    }

    [Fact]
    public void Seal_refuses_a_sequence_it_has_already_sealed()
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            music.Seal(MusicToExternal(1), "first"u8);
            music.Seal(MusicToExternal(2), "second"u8);
            var again = Assert.Throws<SealingException>(() => music.Seal(MusicToExternal(2), "different"u8));
            Assert.Contains("re-send the stored sealed bytes", again.Message);
            Assert.Throws<SealingException>(() => music.Seal(MusicToExternal(1), "older"u8));
            Assert.Equal(2ul, music.LastSealedSequence);
        }
    }

    [Fact]
    public void Open_refuses_replayed_and_reordered_sequences()
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var first = music.Seal(MusicToExternal(1), "1"u8);
            var second = music.Seal(MusicToExternal(2), "2"u8);
            var third = music.Seal(MusicToExternal(3), "3"u8);

            external.Open(MusicToExternal(1), first);
            Assert.Contains("replayed or reordered", Assert.Throws<SealingException>(() => external.Open(MusicToExternal(1), first)).Message);
            external.Open(MusicToExternal(3), third);
            Assert.Throws<SealingException>(() => external.Open(MusicToExternal(2), second));
            Assert.Equal(3ul, external.LastOpenedSequence);
        }
    }

    [Fact]
    public void Sealing_with_a_header_for_another_pair_or_job_is_refused()
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            Assert.Contains("this session seals from 'music' to 'external'",
                Assert.Throws<SealingException>(() => music.Seal(new SealedHeader(JobId, "x", "external", "music", 1, 0), "x"u8)).Message);
            Assert.Throws<SealingException>(() => music.Seal(new SealedHeader(new AttemptId("job-other"), "x", "music", "external", 1, 0), "x"u8));
        }
    }

    [Fact]
    public void What_the_relay_sees_does_not_open_with_anything_it_can_derive()
    {
        // The relay sees both offers and every sealed payload. A handshake it runs itself as a third "party" with a
        // valid certificate for the right names (stolen CN but its own key) still cannot open them.
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var header = MusicToExternal(1);
            var sealedPayload = music.Seal(header, Encoding.UTF8.GetBytes("E sees this, C must not"));

            using var relayExternalCertificate = CertificateFactory.IssueParty(certs.Authority, "external", PartyRole.External, [], TimeSpan.FromDays(1));
            using var relayAsExternal = SessionHandshake.Start(relayExternalCertificate, JobId, "external", "music");
            using var fakeMusic = SessionHandshake.Start(certs.Music, JobId, "music", "external");
            using var relayKey = relayAsExternal.Complete(fakeMusic.Offer, certs.Validator);
            Assert.Throws<SealingException>(() => relayKey.Open(header, sealedPayload));
        }
    }

    [Fact]
    public void A_disposed_session_refuses_to_work()
    {
        var (music, external) = certs.Handshake();
        external.Dispose();
        music.Dispose();
        Assert.Throws<ObjectDisposedException>(() => music.Seal(MusicToExternal(1), "x"u8));
    }

    [Fact]
    public void Concurrent_seals_never_share_a_sequence()
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var sealedSequences = new System.Collections.Concurrent.ConcurrentBag<ulong>();
            Parallel.For(0, 8, worker =>
            {
                for (var i = 0; i < 50; i++)
                {
                    var sequence = (ulong)RandomNumberGenerator.GetInt32(1, 100);
                    try
                    {
                        music.Seal(MusicToExternal(sequence), "x"u8);
                        sealedSequences.Add(sequence);
                    }
                    catch (SealingException) { }
                }
            });
            Assert.NotEmpty(sealedSequences);
            Assert.Equal(sealedSequences.Count, sealedSequences.Distinct().Count());
        }
    }
}

public sealed class SealingIntoBuffersTests(TestCertificates certs) : IClassFixture<TestCertificates>
{
    [Fact]
    public void Sealing_and_opening_into_caller_buffers_matches_the_array_versions()
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var plaintext = new byte[4096];
            new Random(4).NextBytes(plaintext);
            var header = new SealedHeader(TestCertificates.JobId, "train.F1", "music", "external", 1, 0);
            var buffer = new byte[plaintext.Length + SessionKey.Overhead + 10];

            var written = music.Seal(header, plaintext, buffer);
            Assert.Equal(plaintext.Length + SessionKey.Overhead, written);

            var opened = new byte[plaintext.Length];
            Assert.Equal(plaintext.Length, external.Open(header, buffer.AsSpan(0, written), opened));
            Assert.Equal(plaintext, opened);
            Assert.Throws<ArgumentException>(() =>
                music.Seal(header with { Sequence = 2 }, plaintext, new byte[plaintext.Length + SessionKey.Overhead - 1]));
        }
    }

    [Fact]
    public void A_failed_open_releases_no_plaintext_into_the_caller_buffer()
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var header = new SealedHeader(TestCertificates.JobId, "train.F1", "music", "external", 1, 0);
            var plaintext = new byte[256];
            new Random(9).NextBytes(plaintext);
            var sealedPayload = music.Seal(header, plaintext);
            sealedPayload[^1] ^= 1;
            var destination = Enumerable.Repeat((byte)0xAB, 256).ToArray();
            Assert.Throws<SealingException>(() => external.Open(header, sealedPayload, destination));
            // Left as it was or wiped, never (partly) decrypted.
            Assert.True(destination.All(b => b == 0xAB) || destination.All(b => b == 0), "destination holds decrypted bytes");
        }
    }
}
