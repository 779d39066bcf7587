using Federated.Crypto.Ckks.Packing;
using Federated.Core;
using Federated.Learning.Crypto;
using Federated.Learning.Crypto.Ckks;
using Federated.Learning.Protocol.V1;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;
using Xunit.Abstractions;

namespace Federated.Learning.Tests;

/// <summary>
/// docs/protocol.md §5.1 for the CKKS backend: with label noise off and equal seeds, encrypted split training matches the
/// plaintext reference step by step (z_E, g, ∇W) within the measured CKKS error (flooding dominates it).
/// </summary>
public class CkksSplitTrainingTests(ITestOutputHelper output)
{
    private static readonly CkksSessionOptions Ckks = new() { MaxDegreeOfParallelism = 2 };

    [Fact]
    public void Encrypted_steps_match_the_plaintext_reference_within_the_ckks_error()
    {
        TorchRuntime.Initialise(2);
        using var world = new SmallModels();
        var plainJob = SmallModels.JobOptions();
        var ckksJob = plainJob with { Insecure = InsecureAllowances.NoLabelNoise | InsecureAllowances.FixedSeed };
        var (pe, pm) = world.SplitPair(plainJob);
        using var ce = new ExternalPartyRole(ckksJob, world.NewExternalTower(1), SmallModels.Adam(), new CkksExternalSession(Ckks), seed: 101);
        using var cm = new MusicPartyRole(ckksJob, world.NewTop(2), world.Catalog, SmallModels.Adam(), new CkksMusicSession(Ckks, SmallModels.K), seed: 202);
        using (pe)
        using (pm)
        {
            InProcessSplitExchange.Setup(ce, cm);
            double worstZ = 0, worstG = 0, worstW = 0;
            for (int step = 0; step < 4; step++)
            {
                var (eb, mb) = world.Batch(32, 700 + step);
                var plainBefore = DenseMatrix.FromTensor(pe.WeightHalf + pm.WeightHalf);
                var ckksBefore = DenseMatrix.FromTensor(ce.WeightHalf + cm.WeightHalf);
                InProcessSplitExchange.Step(pe, pm, eb, mb);
                var traffic = InProcessSplitExchange.Step(ce, cm, eb, mb);

                double z = RelativeError(pm.LastInteractiveOutput!, cm.LastInteractiveOutput!);
                double g = RelativeError(pe.LastInputGradient!, ce.LastInputGradient!);
                double w = RelativeError(Gradient(plainBefore, DenseMatrix.FromTensor(pe.WeightHalf + pm.WeightHalf), plainJob.InteractiveLearningRate),
                                         Gradient(ckksBefore, DenseMatrix.FromTensor(ce.WeightHalf + cm.WeightHalf), plainJob.InteractiveLearningRate));
                output.WriteLine($"step {step}: relative error z_E {z:E2}, g {g:E2}, ∇W {w:E2}; {traffic.TotalBytes / 32.0:N0} bytes/sample");
                worstZ = Math.Max(worstZ, z);
                worstG = Math.Max(worstG, g);
                worstW = Math.Max(worstW, w);
            }
            // Inference through both: the encrypted user vectors agree with the plaintext ones.
            var (users, music) = world.Batch(48, 799);
            using var plainVectors = InProcessSplitExchange.Infer(pe, pm, users, music.UserCategorical, music.UserKnown);
            using var ckksVectors = InProcessSplitExchange.Infer(ce, cm, users, music.UserCategorical, music.UserKnown);
            double vectorGap = (plainVectors - ckksVectors).abs().max().item<float>();
            output.WriteLine($"inference: max |user vector difference| {vectorGap:E2}");
            Assert.True(vectorGap < 5e-3, $"encrypted inference differs from the plaintext one by {vectorGap:E2}");

            Assert.True(worstZ < 1e-3, $"z_E relative error {worstZ:E2} exceeds 1e-3");
            Assert.True(worstG < 1e-3, $"g relative error {worstG:E2} exceeds 1e-3");
            Assert.True(worstW < 1e-3, $"∇W relative error {worstW:E2} exceeds 1e-3");
            // Not vacuous: flooding is on, so the encrypted run is close but not bit-identical.
            Assert.True(worstZ > 0, "the encrypted z_E is identical to the plaintext one: flooding did not happen");
            Assert.Equal(CryptoMode.Ckks, cm.LastReport!.Mode);
            Assert.DoesNotContain("plaintext", cm.LastReport.SecurityNotice);
            Assert.True(cm.LastReport.ReleasesUsed > 0 && ce.LastReport!.ReleasesUsed > 0);
        }
    }

    [Fact]
    public void Encrypted_training_rotates_keys_mid_job_and_stays_within_the_ckks_error()
    {
        TorchRuntime.Initialise(2);
        using var world = new SmallModels();
        var plainJob = SmallModels.JobOptions();
        var ckksJob = plainJob with { Insecure = InsecureAllowances.NoLabelNoise | InsecureAllowances.FixedSeed };
        var small = Ckks with { ReleaseBudget = 2 }; // one release per step per key at B = 32: rotate every second step
        var (pe, pm) = world.SplitPair(plainJob);
        using var ce = new ExternalPartyRole(ckksJob, world.NewExternalTower(1), SmallModels.Adam(), new CkksExternalSession(small), seed: 101);
        using var cm = new MusicPartyRole(ckksJob, world.NewTop(2), world.Catalog, SmallModels.Adam(), new CkksMusicSession(small, SmallModels.K), seed: 202);
        using (pe)
        using (pm)
        {
            InProcessSplitExchange.Setup(ce, cm);
            for (int step = 0; step < 3; step++)
            {
                var (eb, mb) = world.Batch(32, 900 + step);
                InProcessSplitExchange.Step(pe, pm, eb, mb);
                InProcessSplitExchange.Step(ce, cm, eb, mb);
                double z = RelativeError(pm.LastInteractiveOutput!, cm.LastInteractiveOutput!);
                double g = RelativeError(pe.LastInputGradient!, ce.LastInputGradient!);
                Assert.True(z < 1e-3 && g < 1e-3, $"step {step}: relative error z_E {z:E2}, g {g:E2} after key rotation");
            }
            Assert.Equal(1, ce.LastReport!.KeyRotations);
            Assert.Equal(1, cm.LastReport!.KeyRotations);

            // A step that needs more releases than a whole budget cannot be rescued by rotation.
            var (big, _) = world.Batch(2048, 999); // 2 column blocks per ciphertext: F3 needs 3 releases
            var error = Assert.Throws<ReleaseBudgetExhaustedException>(() => ce.BeginStep(big));
            Assert.Contains("more than a key's whole budget of 2", error.Message);
        }
    }

    [Fact]
    public void A_real_step_needs_no_rotation_and_no_galois_key_and_carries_the_planned_blocks()
    {
        // docs/protocol.md §5.2 on a real transcript: F2 and X2 are column-packed scalar products and X1 is the
        // coefficient-packed batch-sum product, so no step rotates and M publishes no Galois keys. B2 carries d column
        // ciphertexts plus the plan's row blocks; X1 carries the plan's output blocks.
        using var world = new SmallModels();
        using var pair = new CkksPair(world);
        var (e, m, eSession, mSession) = (pair.E, pair.M, pair.ESession, pair.MSession);
        var setup = pair.Setup;
        // Parameters + a seeded public key, no evaluation keys (one Galois key alone is ~640 kB at N = 8192).
        Assert.True(setup.TotalBytes < 2 * 300_000, $"key announcements took {setup.TotalBytes} bytes");

        var plan = CoefficientBatchSumPlan.Choose(8192, 32, SmallModels.K, SmallModels.D);
        for (int step = 0; step < 2; step++)
        {
            var (eb, mb) = world.Batch(32, 950 + step);
            m.PrepareStep(mb);
            var f2 = m.Handle(e.BeginStep(eb))!;
            var b2 = m.Handle(e.Handle(f2)!)!;
            Assert.Equal(Packing.ColumnsAndCoefficientBlocks, b2.B2.Delta.Packing);
            Assert.Equal(SmallModels.D + plan.InputCount, b2.B2.Delta.Parts.Count);
            var b3 = e.Handle(b2)!;
            Assert.Equal(Packing.CoefficientBlocks, b3.B3.WeightGradient.Packing);
            Assert.Equal(plan.OutputCount, b3.B3.WeightGradient.Parts.Count);
            Assert.Null(e.Handle(m.Handle(b3)!));
            Assert.Equal(0L, eSession.RotationCount);
            Assert.Equal(0L, mSession.RotationCount);
        }
    }

    [Fact]
    public void Solving_for_w_m_from_a_real_f2_works_without_rerandomisation_and_fails_with_it()
    {
        // docs/protocol.md §5.4 on a real transcript (a full batch, so M multiplies by the integers round(W_M·2^30)).
        // E knows the c1 of every α ciphertext it sent in F1; the attack (lattice reduction on the rescaled linear
        // combination) recovers every column of W_M from M's product when it is not re-randomised (the negative
        // control: the same product from the real F1 and M's real W_M, masked but not re-randomised) and recovers
        // nothing from the real F2, which is.
        using var world = new SmallModels();
        using var pair = new CkksPair(world);
        var (e, m, eSession, mSession) = (pair.E, pair.M, pair.ESession, pair.MSession);
        var context = eSession.ContextForTests;
        const int rows = 4096;
        var (eb, mb) = world.Batch(rows, 31);
        m.PrepareStep(mb);
        var f1 = e.BeginStep(eb);
        var f2 = m.Handle(f1)!.F2.MaskedProduct;
        var weights = DenseMatrix.FromTensor(m.WeightHalf);
        var sent = f1.F1.Alpha.Parts.Select(p => Federated.Crypto.Ckks.Serialization.CkksSerializer.DeserializeCiphertext(context, p.Span, expectedLevel: context.MaxLevel)).ToList();

        var bare = new PackedMatrixProducts(context, 2).ColumnPackedProduct(sent, weights.Values, SmallModels.D, Ckks.WeightBits, new ColumnPacking(context.SlotCount, rows));
        var evaluator = new Federated.Crypto.Ckks.Evaluator(context);
        for (int j = 0; j < SmallModels.D; j++)
        {
            evaluator.RescaleToNextInplace(bare[j]);
            Federated.Crypto.Ckks.Protocol.RingMask.Sample(context, bare[j].Level).ApplyTo(bare[j]);
            var recovered = WeightRecoveryAttack.Solve(sent, bare[j]);
            var expected = Enumerable.Range(0, SmallModels.K).Select(i => Federated.Crypto.Ckks.Evaluator.ScalarToInteger(weights[i, j], Ckks.WeightBits)).ToArray();
            Assert.NotNull(recovered);
            Assert.Equal(expected, recovered);
        }
        for (int j = 0; j < SmallModels.D; j++)
        {
            var real = Federated.Crypto.Ckks.Serialization.CkksSerializer.DeserializeCiphertext(context, f2.Parts[j].Span, expectedLevel: context.MaxLevel - 1);
            Assert.Null(WeightRecoveryAttack.Solve(sent, real));
        }
    }

    [Fact]
    public void A_b2_or_x1_with_missing_or_mislabelled_blocks_is_rejected_naming_what_was_expected()
    {
        // B2 carries d column ciphertexts plus the plan's coefficient blocks, X1 the plan's output blocks: a message with
        // a part dropped or the wrong packing fails at the receiver with a protocol error, before any decryption.
        using var world = new SmallModels();
        using var pair = new CkksPair(world);
        var (e, m) = (pair.E, pair.M);
        var (eb, mb) = world.Batch(32, 5);
        m.PrepareStep(mb);
        var b2 = m.Handle(e.Handle(m.Handle(e.BeginStep(eb))!)!)!;

        var truncated = b2.Clone();
        truncated.B2.Delta.Parts.RemoveAt(truncated.B2.Delta.Parts.Count - 1);
        var error = Assert.Throws<ProtocolViolationException>(() => e.Handle(truncated));
        Assert.Contains($"expected {b2.B2.Delta.Parts.Count} parts", error.Message);
        var relabelled = b2.Clone();
        relabelled.B2.Delta.Packing = Packing.Columns;
        Assert.Contains("ColumnsAndCoefficientBlocks", Assert.Throws<ProtocolViolationException>(() => e.Handle(relabelled)).Message);

        var b3 = e.Handle(b2)!;
        var badX1 = b3.Clone();
        badX1.B3.WeightGradient.Packing = Packing.Columns;
        Assert.Contains("CoefficientBlocks", Assert.Throws<ProtocolViolationException>(() => m.Handle(badX1)).Message);
    }

    [Fact]
    public void Sessions_with_different_parameters_or_schemes_refuse_each_other()
    {
        using var e = new CkksExternalSession(Ckks);
        using var other = new CkksMusicSession(Ckks with { PrimeBits = new[] { 60, 40, 40, 60 } }, 4);
        var error = Assert.Throws<MalformedCipherBlockException>(() => e.ImportPeerPublicKeys(other.ExportPublicKeys()));
        Assert.Contains("parameters", error.Message);

        using var plain = new PlaintextReferenceMusicSession(SmallModels.Plaintext(1));
        Assert.Throws<MalformedCipherBlockException>(() => e.ImportPeerPublicKeys(plain.ExportPublicKeys()));

        // A role pair whose sessions disagree on the scheme fails at the key announcement, naming both.
        TorchRuntime.Initialise(2);
        using var world = new SmallModels();
        var job = SmallModels.JobOptions();
        using var ce = new ExternalPartyRole(job, world.NewExternalTower(1), SmallModels.Adam(), new CkksExternalSession(Ckks), 1);
        using var pm = new MusicPartyRole(job, world.NewTop(2), world.Catalog, SmallModels.Adam(), new PlaintextReferenceMusicSession(SmallModels.Plaintext(2)), 2);
        var announcement = ce.AnnounceKeys();
        announcement.KeyAnnouncement.Header.Mode = CryptoMode.PlaintextReference; // get past the header check to the scheme check
        var protocolError = Assert.Throws<ProtocolViolationException>(() => pm.Handle(announcement));
        Assert.Contains("ckks/v1", protocolError.Message);
    }

    [Fact]
    public void The_forward_share_e_decrypts_in_a_real_step_is_uniform_and_uncorrelated_with_alpha_times_w_m()
    {
        // docs/protocol.md §5.3 on a real F2 message: E decrypts M's masked product; what it sees must be a uniform ring
        // element that says nothing about α·W_M. Negative control: without M's ring mask it is α·W_M itself.
        using var world = new SmallModels();
        using var pair = new CkksPair(world);
        var (e, m, eSession, mSession) = (pair.E, pair.M, pair.ESession, pair.MSession);
        const int rows = 64;
        var (eb, mb) = world.Batch(rows, 9);
        m.PrepareStep(mb);
        var f1 = e.BeginStep(eb);
        var f2 = m.Handle(f1)!.F2.MaskedProduct;

        var context = eSession.ContextForTests;
        var encoder = eSession.EncoderForTests;
        var layout = new Federated.Crypto.Ckks.Packing.ColumnPacking(context.SlotCount, rows);
        var product = DenseMatrix.FromTensor(e.LastAlpha!.ToTensor().mm(m.WeightHalf));
        var masked = new List<double>();
        var unmasked = new List<double>();
        var truth = new List<double>();
        for (int g = 0; g < f2.Parts.Count; g++)
        {
            var seen = eSession.DecryptPartForTests(f2.Parts[g], context.MaxLevel - 1);
            var withoutMask = seen.Clone();
            mSession.PendingForwardMasksForTests![g].RemoveFrom(withoutMask);
            masked.AddRange(Residues(context, seen));
            unmasked.AddRange(Residues(context, withoutMask));

            var slots = new double[context.SlotCount];
            for (int blk = 0; blk < layout.Blocks; blk++)
            {
                int j = g * layout.Blocks + blk;
                if (j >= SmallModels.D) break;
                for (int r = 0; r < rows; r++) slots[blk * rows + r] = product[r, j];
            }
            var coefficients = new double[context.N];
            encoder.DecodeCoefficients(encoder.Encode(slots, seen.Scale, seen.Level), coefficients);
            truth.AddRange(coefficients);
        }
        int n = masked.Count;
        var (ks, chi2, corr) = Federated.Tests.Shared.ShareUniformity.Of(masked, truth);
        output.WriteLine($"masked share: KS·√n {ks:F3}, χ² {chi2:F1}, correlation {corr:F4} over {n} coefficients");
        // Critical values at p = 0.001: KS·√n < 1.95; χ² with 31 degrees of freedom < 61.1; |r| < 4/√n.
        Assert.True(ks < 1.95, $"KS statistic {ks:F3}: the share is not uniform");
        Assert.True(chi2 < 61.1, $"χ² {chi2:F1}: the share is not uniform");
        Assert.True(Math.Abs(corr) < 4 / Math.Sqrt(n), $"correlation {corr:F4} with α·W_M");

        var (ks0, chi20, corr0) = Federated.Tests.Shared.ShareUniformity.Of(unmasked, truth);
        Assert.True(ks0 > 10 && chi20 > 1000, $"unmasked share looks uniform (KS {ks0:F1}, χ² {chi20:F0}): the control cannot fail");
        Assert.True(corr0 > 0.99, $"unmasked share correlates only {corr0:F4} with α·W_M: the control cannot fail");
    }

    [Fact]
    public void The_cross_terms_m_decrypts_from_a_real_x1_are_uniform_and_would_not_be_without_the_mask()
    {
        // docs/protocol.md §5.3 for the coefficient-packed X1: the cross-term coefficients (linear in α, which M could solve
        // for since it knows δ̃) are uniform mod q in what M decrypts (the result coefficients are checked by the
        // equivalence test). Negative control: the same product from the real B2 and E's real α without the mask.
        using var world = new SmallModels();
        using var pair = new CkksPair(world);
        var (e, m, eSession, mSession) = (pair.E, pair.M, pair.ESession, pair.MSession);
        const int rows = 256;
        var (eb, mb) = world.Batch(rows, 41);
        m.PrepareStep(mb);
        var b2 = m.Handle(e.Handle(m.Handle(e.BeginStep(eb))!)!)!;
        var alpha = e.LastAlpha!;
        var x1 = e.Handle(b2)!.B3.WeightGradient;

        var context = mSession.ContextForTests;
        var plan = CoefficientBatchSumPlan.Choose(context.N, rows, SmallModels.K, SmallModels.D);
        var masked = new List<double>();
        for (int part = 0; part < x1.Parts.Count; part++)
        {
            var isResult = plan.ResultCoefficients(part / plan.OuterBlocks, part % plan.OuterBlocks);
            var residues = Residues(context, mSession.DecryptPartForTests(x1.Parts[part], context.MaxLevel - 1));
            masked.AddRange(residues.Where((_, c) => !isResult[c]));
        }
        var (ks, chi2, _) = Federated.Tests.Shared.ShareUniformity.Of(masked, masked);
        output.WriteLine($"X1 cross terms as M sees them: KS·√n {ks:F3}, χ² {chi2:F1} over {masked.Count} coefficients");
        Assert.True(ks < 1.95 && chi2 < 61.1, $"the cross terms M decrypts are not uniform (KS {ks:F3}, χ² {chi2:F1})");

        // Control: the unmasked product from the same inputs (the real B2's coefficient blocks, E's real α).
        var deltaBlocks = b2.B2.Delta.Parts.Skip(SmallModels.D)
            .Select(p => Federated.Crypto.Ckks.Serialization.CkksSerializer.DeserializeCiphertext(context, p.Span, expectedLevel: context.MaxLevel)).ToList();
        var bare = new PackedMatrixProducts(context, 2).CoefficientBatchSumProduct(deltaBlocks, alpha.Values, Ckks.WeightBits, plan);
        var plain = new List<double>();
        for (int part = 0; part < bare.Length; part++)
        {
            var isResult = plan.ResultCoefficients(part / plan.OuterBlocks, part % plan.OuterBlocks);
            var ct = bare[part];
            new Federated.Crypto.Ckks.Evaluator(context).RescaleToNextInplace(ct);
            var residues = Residues(context, mSession.DecryptPartForTests(Google.Protobuf.ByteString.CopyFrom(Federated.Crypto.Ckks.Serialization.CkksSerializer.Serialize(ct)), context.MaxLevel - 1));
            plain.AddRange(residues.Where((_, c) => !isResult[c]));
        }
        var (ks0, chi20, _) = Federated.Tests.Shared.ShareUniformity.Of(plain, plain);
        Assert.True(ks0 > 4 && chi20 > 500, $"unmasked cross terms look uniform (KS {ks0:F1}, χ² {chi20:F0}): the control cannot fail");
    }

    /// <summary>A decrypted share's coefficients mod the first prime, as fractions of it (uniform in [0, 1) when masked).</summary>
    private static IEnumerable<double> Residues(Federated.Crypto.Ckks.CkksContext context, Federated.Crypto.Ckks.Plaintext share)
    {
        var raw = share.Component(0).ToArray();
        context.Ntt[0].Inverse(raw);
        return raw.Select(v => v / (double)context.Moduli[0].Value);
    }

    /// <summary>An encrypted E/M pair over fresh towers (label noise off, so steps compare exactly), keys exchanged.</summary>
    private sealed class CkksPair : IDisposable
    {
        public CkksPair(SmallModels world)
        {
            TorchRuntime.Initialise(2);
            var job = SmallModels.JobOptions() with { Insecure = InsecureAllowances.NoLabelNoise | InsecureAllowances.FixedSeed };
            ESession = new CkksExternalSession(Ckks);
            MSession = new CkksMusicSession(Ckks, SmallModels.K);
            E = new ExternalPartyRole(job, world.NewExternalTower(1), SmallModels.Adam(), ESession, 1);
            M = new MusicPartyRole(job, world.NewTop(2), world.Catalog, SmallModels.Adam(), MSession, 2);
            Setup = InProcessSplitExchange.Setup(E, M);
        }

        public CkksExternalSession ESession { get; }
        public CkksMusicSession MSession { get; }
        public ExternalPartyRole E { get; }
        public MusicPartyRole M { get; }
        public ExchangeTraffic Setup { get; }

        public void Dispose()
        {
            E.Dispose();
            M.Dispose();
        }
    }

    private static DenseMatrix Gradient(DenseMatrix before, DenseMatrix after, double learningRate) =>
        new(before.Rows, before.Cols, before.Values.Zip(after.Values, (b, a) => (b - a) / learningRate).ToArray());

    private static double RelativeError(DenseMatrix expected, DenseMatrix actual)
    {
        double scale = expected.Values.Max(Math.Abs);
        double worst = expected.Values.Zip(actual.Values, (x, y) => Math.Abs(x - y)).Max();
        return worst / scale;
    }
}
