using Federated.Core;
using Federated.Learning.Crypto;
using Federated.Learning.Protocol.V1;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;
using Google.Protobuf;

namespace Federated.Learning.Tests;

/// <summary>The roles accept only the next message of the protocol, well formed, for their job and step.</summary>
public class SplitRoleProtocolTests
{
    public SplitRoleProtocolTests() => TorchRuntime.Initialise(2);

    [Fact]
    public void Messages_out_of_order_are_rejected_naming_the_expected_and_received_step()
    {
        using var world = new SmallModels();
        var (e, m) = world.SplitPair(SmallModels.JobOptions());
        using (e)
        using (m)
        {
            var (eb, mb) = world.Batch(16, 1);
            var f1 = e.BeginStep(eb);

            // M has no prepared batch yet.
            var error = Assert.Throws<ProtocolViolationException>(() => m.Handle(f1));
            Assert.Contains("PrepareStep", error.Message);

            m.PrepareStep(mb);
            var f2 = m.Handle(f1)!;
            // E skips F3 and answers as if it were at B2; M expects F3.
            error = Assert.Throws<ProtocolViolationException>(() => m.Handle(new SplitTrainingMessage { B3 = new BackwardProducts { Header = f2.F2.Header } }));
            Assert.Contains("expected F3", error.Message);
            Assert.Contains("received B3", error.Message);

            // E receives M's F2 twice: the second is out of order.
            var f3 = e.Handle(f2)!;
            error = Assert.Throws<ProtocolViolationException>(() => e.Handle(f2));
            Assert.Contains("expected B2", error.Message);

            // The step still completes after the rejected messages.
            var b2 = m.Handle(f3)!;
            var b3 = e.Handle(b2)!;
            var b4 = m.Handle(b3)!;
            Assert.Null(e.Handle(b4));
            Assert.Equal(1UL, e.CompletedSteps);
            Assert.Equal(1UL, m.CompletedSteps);

            // A new step cannot begin twice.
            e.BeginStep(eb);
            Assert.Contains("state AwaitingF2", Assert.Throws<ProtocolViolationException>(() => e.BeginStep(eb)).Message);
        }
    }

    [Fact]
    public void Replayed_foreign_and_wrongly_shaped_messages_are_rejected()
    {
        using var world = new SmallModels();
        var (e, m) = world.SplitPair(SmallModels.JobOptions());
        using (e)
        using (m)
        {
            var (eb, mb) = world.Batch(16, 2);
            InProcessSplitExchange.Step(e, m, eb, mb);

            // Step 0's F1 replayed at step 1.
            var f1 = e.BeginStep(eb);
            m.PrepareStep(mb);
            var replay = f1.Clone();
            replay.F1.Header.Step = 0;
            Assert.Contains("expected step 1", Assert.Throws<ProtocolViolationException>(() => m.Handle(replay)).Message);

            var foreign = f1.Clone();
            foreign.F1.Header.JobId = "another-job";
            Assert.Contains("job 'another-job'", Assert.Throws<ProtocolViolationException>(() => m.Handle(foreign)).Message);

            var version = f1.Clone();
            version.F1.Header.ProtocolVersion = 2;
            Assert.Contains("protocol version 2", Assert.Throws<ProtocolViolationException>(() => m.Handle(version)).Message);

            var mode = f1.Clone();
            mode.F1.Header.Mode = CryptoMode.Ckks;
            Assert.Contains("mode", Assert.Throws<ProtocolViolationException>(() => m.Handle(mode)).Message);

            var rows = f1.Clone();
            rows.F1.Header.BatchRows = 15;
            Assert.Contains("batch of 15 rows, expected 16", Assert.Throws<ProtocolViolationException>(() => m.Handle(rows)).Message);

            var narrow = f1.Clone();
            narrow.F1.Alpha.Cols = SmallModels.K - 1;
            Assert.Contains($"expected α of 16 x {SmallModels.K}", Assert.Throws<ProtocolViolationException>(() => m.Handle(narrow)).Message);

            var missingPart = f1.Clone();
            missingPart.F1.Alpha.Parts.RemoveAt(0);
            Assert.Contains($"expected {SmallModels.K} parts", Assert.Throws<ProtocolViolationException>(() => m.Handle(missingPart)).Message);

            var shortPart = f1.Clone();
            shortPart.F1.Alpha.Parts[3] = ByteString.CopyFrom(new byte[15 * 8]);
            var shortError = Assert.Throws<ProtocolViolationException>(() => m.Handle(shortPart)).Message;
            Assert.Contains("F2", shortError);
            Assert.Contains("part 3", shortError);

            var scheme = f1.Clone();
            scheme.F1.Alpha.Scheme = "ckks/v1";
            Assert.Contains("scheme 'ckks/v1'", Assert.Throws<ProtocolViolationException>(() => m.Handle(scheme)).Message);

            var nonFinite = f1.Clone();
            var bytes = new byte[16 * 8];
            BitConverter.GetBytes(double.NaN).CopyTo(bytes, 8 * 5);
            nonFinite.F1.Alpha.Parts[0] = ByteString.CopyFrom(bytes);
            Assert.Contains("non-finite value at slot 5", Assert.Throws<ProtocolViolationException>(() => m.Handle(nonFinite)).Message);

            // The genuine message is still accepted after all the rejections.
            Assert.Equal(SplitTrainingMessage.BodyOneofCase.F2, m.Handle(f1)!.BodyCase);
        }
    }

    [Fact]
    public void Transport_messages_must_declare_the_type_they_carry_and_parse()
    {
        var f1 = new SplitTrainingMessage { F1 = new ForwardActivations { Header = new StepHeader { JobId = "j" } } };
        var wire = SplitTrainingMessages.ToPeerMessage(f1);
        Assert.Equal("train.F1", wire.MessageType);
        Assert.Equal(f1, SplitTrainingMessages.FromPeerMessage(wire));
        Assert.Contains("declared as 'train.B4' carries F1",
            Assert.Throws<ProtocolViolationException>(() => SplitTrainingMessages.FromPeerMessage(wire with { MessageType = "train.B4" })).Message);
        Assert.Contains("not a valid split-training message",
            Assert.Throws<ProtocolViolationException>(() => SplitTrainingMessages.FromPeerMessage(new PeerMessage("train.F1", new byte[] { 0xFF, 0xFF, 0xFF }))).Message);
        Assert.Contains("no split-training body",
            Assert.Throws<ProtocolViolationException>(() => SplitTrainingMessages.FromPeerMessage(new PeerMessage("train.F1", Array.Empty<byte>()))).Message);
    }

    [Fact]
    public void Setup_rejects_mismatched_widths_and_steps_before_keys()
    {
        using var world = new SmallModels();
        var job = SmallModels.JobOptions();
        using var e = new ExternalPartyRole(job, world.NewExternalTower(1), SmallModels.Adam(), new PlaintextReferenceExternalSession(SmallModels.Plaintext(1)), 1);
        using var m = new MusicPartyRole(job, world.NewTop(2), world.Catalog, SmallModels.Adam(), new PlaintextReferenceMusicSession(SmallModels.Plaintext(2)), 2);
        var (eb, mb) = world.Batch(8, 3);
        Assert.Contains("state KeysNotAnnounced", Assert.Throws<ProtocolViolationException>(() => e.BeginStep(eb)).Message);
        Assert.Contains("state AwaitingPeerKeys", Assert.Throws<ProtocolViolationException>(() => m.PrepareStep(mb)).Message);

        var announcement = e.AnnounceKeys();
        announcement.KeyAnnouncement.InteractiveWidth = SmallModels.D + 1;
        var error = Assert.Throws<ProtocolViolationException>(() => m.Handle(announcement));
        Assert.Contains($"d={SmallModels.D + 1}", error.Message);
    }

    [Fact]
    public void Plaintext_reference_refuses_to_run_without_explicit_insecure_flags_and_marks_every_report()
    {
        Assert.Contains("AcknowledgeInsecure",
            Assert.Throws<InvalidOperationException>(() => new PlaintextReferenceMusicSession(new PlaintextReferenceOptions())).Message);

        using var world = new SmallModels();
        var job = SmallModels.JobOptions() with { Insecure = InsecureAllowances.NoLabelNoise };
        var error = Assert.Throws<InvalidOperationException>(() =>
            new MusicPartyRole(job, world.NewTop(2), world.Catalog, SmallModels.Adam(), new PlaintextReferenceMusicSession(SmallModels.Plaintext(2)), 2));
        Assert.Contains("PlaintextReference", error.Message);
        error = Assert.Throws<InvalidOperationException>(() =>
            new ExternalPartyRole(job, world.NewExternalTower(1), SmallModels.Adam(), new PlaintextReferenceExternalSession(SmallModels.Plaintext(1)), 1));
        Assert.Contains("PlaintextReference", error.Message);

        var (e, m) = world.SplitPair(SmallModels.JobOptions());
        using (e)
        using (m)
        {
            var (eb, mb) = world.Batch(8, 4);
            InProcessSplitExchange.Step(e, m, eb, mb);
            foreach (var report in new[] { e.LastReport!, m.LastReport! })
            {
                Assert.Equal(CryptoMode.PlaintextReference, report.Mode);
                Assert.True(report.IsInsecure);
                Assert.StartsWith("INSECURE: plaintext reference mode", report.SecurityNotice);
                Assert.Contains("no label DP", report.SecurityNotice);
            }
            // One release per step each: F3 by E's key, B4 by M's key.
            Assert.Equal(1, e.LastReport!.ReleasesUsed);
            Assert.Equal(1, m.LastReport!.ReleasesUsed);
        }
    }

    [Fact]
    public void Keys_rotate_when_their_release_budget_is_spent_and_training_is_unchanged()
    {
        using var world = new SmallModels();
        var job = SmallModels.JobOptions();
        using var e = new ExternalPartyRole(job, world.NewExternalTower(1), SmallModels.Adam(),
            new PlaintextReferenceExternalSession(SmallModels.Plaintext(21) with { ReleaseBudget = 2 }), 101);
        using var m = new MusicPartyRole(job, world.NewTop(2), world.Catalog, SmallModels.Adam(),
            new PlaintextReferenceMusicSession(SmallModels.Plaintext(22) with { ReleaseBudget = 3 }), 202);
        InProcessSplitExchange.Setup(e, m);
        var (re, rm) = world.SplitPair(job); // the same seeds, budgets that never run out
        using (re)
        using (rm)
        {
            for (int step = 0; step < 6; step++)
            {
                var (eb, mb) = world.Batch(8, 10 + step);
                var traffic = InProcessSplitExchange.Step(e, m, eb, mb);
                InProcessSplitExchange.Step(re, rm, eb, mb);
                Assert.True(e.LastReport!.ReleasesUsed <= 2 && m.LastReport!.ReleasesUsed <= 3, $"step {step}: a key released beyond its budget");
            }
            // E's key releases once per step (F3): steps 0-1, 2-3, 4-5 → two rotations; M's (B4): 0-2, 3-5 → one.
            Assert.Equal(2, e.LastReport!.KeyRotations);
            Assert.Equal(1, m.LastReport!.KeyRotations);
            var rotated = DenseMatrix.FromTensor(e.WeightHalf + m.WeightHalf);
            MatrixAssert.Close(DenseMatrix.FromTensor(re.WeightHalf + rm.WeightHalf), rotated, 1e-9, "W with and without key rotation");
        }
    }

    [Fact]
    public void Traffic_per_message_matches_the_shapes_of_the_step_table()
    {
        using var world = new SmallModels();
        var (e, m) = world.SplitPair(SmallModels.JobOptions());
        using (e)
        using (m)
        {
            const int rows = 48, k = SmallModels.K, d = SmallModels.D;
            var (eb, mb) = world.Batch(rows, 5);
            var exchange = InProcessSplitExchange.Step(e, m, eb, mb);
            Assert.True(exchange.IsInsecure);
            var traffic = exchange.BytesByMessage;
            // Payload doubles per message (plaintext reference: 8 bytes per value), plus headers under 10%.
            var expectedValues = new Dictionary<string, int>
            {
                ["train.F1"] = rows * k, ["train.F2"] = rows * d, ["train.F3"] = rows * d,
                ["train.B2"] = rows * d, ["train.B3"] = k * d + rows * k, ["train.B4"] = rows * k,
            };
            Assert.Equal(expectedValues.Keys.OrderBy(x => x), traffic.Keys.OrderBy(x => x));
            foreach (var (type, values) in expectedValues)
            {
                long bytes = traffic[type];
                Assert.True(bytes >= values * 8 && bytes < values * 8 * 1.1 + 64, $"{type}: {bytes} bytes for {values} values");
            }
        }
    }
}
