using Federated.Learning.Crypto;
using Federated.Learning.Privacy;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;

namespace Federated.Learning.Tests;

/// <summary>The roles' own state export (checkpoints): a restored pair continues exactly like the original.</summary>
public sealed class RoleStateTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("role-state-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_pair_restored_from_saved_state_continues_like_the_original()
    {
        TorchRuntime.Initialise(2);
        using var world = new SmallModels();
        var job = SmallModels.JobOptions(new LabelDpOptions { ClipNorm = 1.0, NoiseMultiplier = 0.7 });
        var (e, m) = world.SplitPair(job);
        using (e)
        using (m)
        {
            for (int step = 0; step < 3; step++)
            {
                var (eb, mb) = world.Batch(32, 300 + step);
                InProcessSplitExchange.Step(e, m, eb, mb);
            }
            string eFolder = Directory.CreateDirectory(Path.Combine(_root, "e")).FullName, mFolder = Directory.CreateDirectory(Path.Combine(_root, "m")).FullName;
            e.Tower.save(Path.Combine(eFolder, "tower.bin"));
            e.SaveState(eFolder);
            m.Top.save(Path.Combine(mFolder, "top.bin"));
            var seen = m.Top.ExportSeenSongs();
            m.SaveState(mFolder);
            var spent = m.PrivacySpent!;

            // A fresh pair from other seeds, restored before its key exchange, then both pairs take the same steps.
            var tower = world.NewExternalTower(77);
            tower.load(Path.Combine(eFolder, "tower.bin"));
            var top = world.NewTop(78);
            top.load(Path.Combine(mFolder, "top.bin"));
            top.ImportSeenSongs(seen);
            using var e2 = new ExternalPartyRole(job, tower, SmallModels.Adam(), new PlaintextReferenceExternalSession(SmallModels.Plaintext(31)), seed: 9);
            using var m2 = new MusicPartyRole(job, top, world.Catalog, SmallModels.Adam(), new PlaintextReferenceMusicSession(SmallModels.Plaintext(32)), seed: 10);
            e2.RestoreState(eFolder);
            m2.RestoreState(mFolder);
            InProcessSplitExchange.Setup(e2, m2);
            Assert.Equal(3UL, e2.CompletedSteps);
            Assert.Equal(3UL, m2.CompletedSteps);
            Assert.Equal(spent.Epsilon, m2.PrivacySpent!.Epsilon, 12);

            for (int step = 3; step < 6; step++)
            {
                var (eb, mb) = world.Batch(32, 300 + step);
                InProcessSplitExchange.Step(e, m, eb, mb);
                InProcessSplitExchange.Step(e2, m2, eb, mb);
            }
            // The plaintext reference's masks cancel up to float64 round-off, so equal up to 1e-9 (not bit for bit).
            MatrixAssert.Close(e.ExportWeightHalf(), e2.ExportWeightHalf(), 1e-9, "A");
            MatrixAssert.Close(m.ExportWeightHalf(), m2.ExportWeightHalf(), 1e-9, "W_M");
            MatrixAssert.Close(m.LastDeltaTilde!, m2.LastDeltaTilde!, 1e-9, "δ̃ (label-DP noise from the restored generator)");
            Assert.Equal(m.PrivacySpent!.Epsilon, m2.PrivacySpent!.Epsilon, 12);
        }
    }

    [Fact]
    public void State_cannot_be_saved_in_the_middle_of_a_step()
    {
        TorchRuntime.Initialise(2);
        using var world = new SmallModels();
        var (e, m) = world.SplitPair(SmallModels.JobOptions());
        using (e)
        using (m)
        {
            var (eb, mb) = world.Batch(16, 1);
            m.PrepareStep(mb);
            e.BeginStep(eb);
            Assert.Contains("middle of a step", Assert.Throws<InvalidOperationException>(() => e.SaveState(_root)).Message);
            Assert.Contains("middle of a step", Assert.Throws<InvalidOperationException>(() => m.SaveState(_root)).Message);
        }
    }
}
