using Federated.Core;
using Federated.Learning.Split;
using Federated.Training;
using Federated.Training.Checkpoints;
using Federated.Training.Jobs;
using Federated.Training.Tests.Support;

namespace Federated.Training.Tests;

public sealed class JobOptionsTests : IDisposable
{
    private readonly string _work = TestWorlds.NewFolder("options");

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public void Encrypted_is_the_default_mode()
    {
        var options = TestWorlds.Job("defaults");
        Assert.Equal(FederationMode.Encrypted, options.Mode);
        Assert.False(options.IsInsecure);
        Assert.Equal("encrypted (CKKS) with label DP", options.SecurityNotice);
    }

    [Fact]
    public async Task The_plaintext_reference_refuses_to_run_without_the_insecure_flag_at_either_party()
    {
        var options = TestWorlds.Job("plain") with { Mode = FederationMode.PlaintextReference };
        var error = Assert.Throws<InsecureModeRefusedException>(options.Validate);
        Assert.Contains("UNENCRYPTED", error.Message);
        Assert.Contains("PlaintextReference", error.Message);

        // Refused before any message is sent or any file is read.
        var (e, m) = InMemoryPeerChannel.CreatePair();
        var paths = new PartyJobPaths(Path.Combine(_work, "no-data"), Path.Combine(_work, "job"));
        await Assert.ThrowsAsync<InsecureModeRefusedException>(() => ExternalPartyJob.RunAsync(e, paths, options));
        await Assert.ThrowsAsync<InsecureModeRefusedException>(() => MusicPartyJob.RunAsync(m, paths, options, []));
        Assert.False(Directory.Exists(paths.JobFolder));

        var allowed = options with { Insecure = InsecureAllowances.PlaintextReference };
        allowed.Validate();
        Assert.True(allowed.IsInsecure);
        Assert.StartsWith("INSECURE: plaintext reference mode", allowed.SecurityNotice);
    }

    [Fact]
    public void A_schedule_above_its_epsilon_cap_is_refused_before_training_and_never_retried()
    {
        // The demo's shape: 2,890 aligned rows, batch 256, 40 epochs (480 steps) at noise multiplier 0.5.
        var options = TestWorlds.Job("capped") with { Epochs = 40, BatchSize = 256, MaxEpsilon = 2 };
        options.Validate();
        var schedule = new TrainingSchedule(new byte[32], 2890, 256, 40);
        var error = Assert.Throws<PrivacyBudgetExceededException>(() => MusicPartyJob.RequireWithinEpsilonCap(options, schedule));
        Assert.Contains("above its cap maxEpsilon = 2", error.Message);
        Assert.Contains("over 480 steps", error.Message);
        Assert.Equal(FailureCategory.Input, Failures.Classify(error)); // the job's own input: not retried
        var projected = double.Parse(System.Text.RegularExpressions.Regex.Match(error.Message, @"ε (?<e>[0-9.]+) at").Groups["e"].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(projected, 2, 1000);

        // A cap above the projection trains; no cap never refuses; a cap without label DP or not positive is refused.
        MusicPartyJob.RequireWithinEpsilonCap(options with { MaxEpsilon = projected + 1 }, schedule);
        MusicPartyJob.RequireWithinEpsilonCap(options with { MaxEpsilon = null }, schedule);
        Assert.Contains("needs label DP", Assert.Throws<ArgumentException>(() =>
            (options with { LabelDp = null, Insecure = InsecureAllowances.NoLabelNoise }).Validate()).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => (options with { MaxEpsilon = -1 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (options with { MaxEpsilon = double.NaN }).Validate());
    }

    [Fact]
    public void Label_dp_off_is_marked_insecure()
    {
        var options = TestWorlds.Job("no-dp") with { LabelDp = null, Insecure = InsecureAllowances.NoLabelNoise };
        options.Validate();
        Assert.Contains("INSECURE: no label DP", options.SecurityNotice);
    }

    [Fact]
    public void The_agreement_fingerprint_covers_shared_settings_only()
    {
        var a = TestWorlds.Job("fp");
        Assert.Equal(a.AgreementFingerprint(), (a with { TorchThreads = 1, CheckpointsKept = 9 }).AgreementFingerprint());
        Assert.NotEqual(a.AgreementFingerprint(), (a with { BatchSize = 128 }).AgreementFingerprint());
        Assert.NotEqual(a.AgreementFingerprint(), (a with { Model = a.Model with { BottomWidth = 16 } }).AgreementFingerprint());
        Assert.NotEqual(a.AgreementFingerprint(), (a with { Mode = FederationMode.PlaintextReference }).AgreementFingerprint());
    }

    [Fact]
    public void The_agreement_fingerprint_and_the_split_key_are_those_of_earlier_releases()
    {
        // Pinned: a party of an earlier release computes this fingerprint for the same settings, so a mixed pair
        // still agrees at the hello, and the split messages carry the same "{job}/r{round}" key.
        var options = TestWorlds.Job("fp");
        Assert.Equal("22af457fdc34cd53f0fdf279538f84fe86f6d4c47a2c8df2bea0a5e2fd11036c", options.AgreementFingerprint());
        Assert.Equal("fp/r1", options.ToSplitOptions(10).JobId);
    }

    [Fact]
    public void The_schedule_visits_every_aligned_row_once_per_epoch_in_an_order_fixed_by_the_joint_seed()
    {
        var seed = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var schedule = new TrainingSchedule(seed, 1000, 256, 3);
        Assert.Equal(4, schedule.StepsPerEpoch);
        Assert.Equal(12UL, schedule.TotalSteps);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var rows = Enumerable.Range(0, 4).SelectMany(s => schedule.Rows((ulong)(epoch * 4 + s))).ToArray();
            Assert.Equal(Enumerable.Range(0, 1000), rows.Order());
        }
        Assert.NotEqual(schedule.Rows(0), schedule.Rows(4));
        Assert.Equal(schedule.Rows(5), new TrainingSchedule(seed, 1000, 256, 3).Rows(5));
        Assert.Equal(1000 - 3 * 256, schedule.Rows(3).Length);
    }
}
