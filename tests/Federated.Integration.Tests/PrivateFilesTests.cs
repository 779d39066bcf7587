using Federated.Core;
using Federated.Launcher;
using Federated.Operator;
using Federated.PartyJobs;
using Federated.Transport.V1;
using Xunit.Abstractions;

namespace Federated.Integration.Tests;

/// <summary>
/// What the three hosts write is owner-only: after a real encrypted train job (PSI state, checkpoints, the
/// party seed, role state with its secret randomness key, rankings, published model versions, the coordinator's
/// registry, audit log and anchor key, the hosts' logs, the private keys), no file or folder in the run folder may be used by group or
/// others. Public certificates (*.crt.pem) may be read by anyone. The synthetic tables and the evaluation users the test itself wrote as the parties' inputs are not the
/// hosts' files and are left out. A host refuses a state folder open to others, unless told to only warn.
/// </summary>
[Collection(TrainFederationCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PrivateFilesTests(TrainFederationFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Nothing_the_hosts_write_during_a_train_job_is_readable_by_others()
    {
        using var op = fixture.Connect();
        var request = new CreateJobRequest { Kind = TrainJobHandler.JobKind, MusicPartyId = "music", ExternalPartyId = "external" };
        request.Parameters.Add(new Dictionary<string, string>
        {
            ["trainingJob"] = "it-private", ["evaluationUsers"] = fixture.EvaluationUsersFile, ["epochs"] = "1", ["pretrainEpochs"] = "1",
            ["batchSize"] = "256", ["checkpointEvery"] = "2", ["torchThreads"] = "1", ["messageTimeoutSeconds"] = "120",
        });
        var created = await op.Jobs.CreateJobAsync(request);
        var job = await fixture.WaitForJobAsync(op, created.JobId, TimeSpan.FromMinutes(5));
        Assert.True(job.State == JobState.Completed, $"train job {job.State}: {job.Reason}\n{fixture.Logs()}");

        var inputs = new[] { fixture.World, Path.GetDirectoryName(fixture.EvaluationUsersFile)! };
        var checkedFiles = new List<string>();
        var open = new List<string>();
        foreach (var path in Directory.EnumerateFileSystemEntries(fixture.RunDirectory, "*", SearchOption.AllDirectories).Prepend(fixture.RunDirectory))
        {
            if (inputs.Any(i => path == i || path.StartsWith(i + Path.DirectorySeparatorChar, StringComparison.Ordinal))) continue;
            if (new FileInfo(path).LinkTarget is not null) continue;
            if (path.EndsWith(".crt.pem", StringComparison.Ordinal)) continue; // public certificates; their keys are checked
            checkedFiles.Add(path);
            var mode = File.GetUnixFileMode(path);
            if ((mode & PrivateFiles.OpenToOthers) != 0) open.Add($"{PrivateFiles.Octal(mode)} {Path.GetRelativePath(fixture.RunDirectory, path)}");
        }
        output.WriteLine($"{checkedFiles.Count} files and folders checked");
        // The files that matter most are among them, so the walk cannot pass by checking nothing.
        string Relative(string p) => Path.GetRelativePath(fixture.RunDirectory, p);
        var relative = checkedFiles.Select(Relative).ToHashSet();
        var musicJob = fixture.JobFolderOf("music", "it-private");
        foreach (var expected in new[]
                 {
                     fixture.AuditDatabase, fixture.AuditDatabase + ".anchor-key", fixture.Folder.RegistryDatabase,
                     Path.Combine(musicJob, "party-seed.txt"), Path.Combine(fixture.JobFolderOf("external", "it-private"), "party-seed.txt"),
                     fixture.Folder.LogFile(RunFolder.MusicName), Path.Combine(fixture.Certificates, "music.key.pem"),
                 })
            Assert.Contains(Relative(expected), relative);
        Assert.Contains(relative, r => r.StartsWith(Relative(musicJob), StringComparison.Ordinal) && r.EndsWith("role-state.json", StringComparison.Ordinal));
        Assert.True(open.Count == 0, $"{open.Count} of {checkedFiles.Count} entries are open to other users:\n{string.Join("\n", open.Take(40))}");
    }

    [Fact]
    public async Task The_coordinator_refuses_to_start_on_a_data_folder_open_to_others()
    {
        var folder = Path.Combine(Path.GetTempPath(), "federated-open-data-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, PrivateFiles.FolderMode | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var (exitCode, text) = await RefusedStart.CoordinatorAsync("on a data folder open to others", $"--Tls:CertificateDirectory={fixture.Certificates}",
            "--Tls:CertificateName=coordinator", $"--Coordinator:DataDirectory={folder}", "--Host:Port=0");
        output.WriteLine(text);
        Assert.Equal(1, exitCode);
        Assert.Contains("Coordinator:DataDirectory", text);
        Assert.Contains("open to other users (mode 0755)", text);
        Assert.False(File.Exists(Path.Combine(folder, "audit.db")), "the refused coordinator still created its audit log");
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void A_state_folder_open_to_others_is_refused_or_with_the_warn_policy_reported()
    {
        var folder = Path.Combine(Path.GetTempPath(), "federated-private-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Assert.Null(PrivateFiles.CheckFolder("Agent:StateDirectory", folder, FolderPermissionPolicy.Refuse));
            Assert.Equal(PrivateFiles.FolderMode, File.GetUnixFileMode(folder)); // created 0700
            File.SetUnixFileMode(folder, PrivateFiles.FolderMode | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            var refused = Assert.Throws<InvalidOperationException>(() => PrivateFiles.CheckFolder("Agent:StateDirectory", folder, FolderPermissionPolicy.Refuse));
            Assert.Contains("Agent:StateDirectory", refused.Message);
            Assert.Contains("0755", refused.Message);
            Assert.Contains(folder, refused.Message);
            var warning = PrivateFiles.CheckFolder("Agent:StateDirectory", folder, FolderPermissionPolicy.Warn);
            Assert.NotNull(warning);
            Assert.Contains("0755", warning);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
