using Federated.Core;
using Federated.Learning.Crypto;
using Federated.Learning.Crypto.Ckks;
using Federated.Learning.Protocol.V1;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;
using Xunit.Abstractions;

namespace Federated.Learning.Tests;

/// <summary>
/// PROTOCOL.md 5.1 for the CKKS backend: with label noise off and equal seeds, encrypted split training matches the
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
        var ckksJob = plainJob with { Insecure = InsecureAllowances.NoLabelNoise };
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

    private static DenseMatrix Gradient(DenseMatrix before, DenseMatrix after, double learningRate) =>
        new(before.Rows, before.Cols, before.Values.Zip(after.Values, (b, a) => (b - a) / learningRate).ToArray());

    private static double RelativeError(DenseMatrix expected, DenseMatrix actual)
    {
        double scale = expected.Values.Max(Math.Abs);
        double worst = expected.Values.Zip(actual.Values, (x, y) => Math.Abs(x - y)).Max();
        return worst / scale;
    }
}
