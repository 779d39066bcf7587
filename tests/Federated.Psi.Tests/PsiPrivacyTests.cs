using System.Text;
using Federated.Crypto.Psi;

namespace Federated.Psi.Tests;

public sealed class PsiPrivacyTests
{
    [Fact]
    public async Task Neither_party_receives_the_peers_raw_ids_or_unblinded_hashes()
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(1000, 1000, 0.5);
        await h.RunAsync(m, e, "transcript");

        var toE = h.ReceivedBy(PsiRole.External);
        var toM = h.ReceivedBy(PsiRole.Music);
        Assert.NotEmpty(toE);
        Assert.NotEmpty(toM);
        Assert.DoesNotContain(toE.Select(p => p.Length), l => l > 8 + 36 * 128);

        Assert.False(PsiHarness.ContainsAny(toE, m.Select(Encoding.UTF8.GetBytes)), "E received a raw ID of M");
        Assert.False(PsiHarness.ContainsAny(toE, m.Select(id => PsiHarness.HashOf("test-alignment", id))), "E received an unblinded H(id) of M");
        Assert.False(PsiHarness.ContainsAny(toM, e.Select(Encoding.UTF8.GetBytes)), "M received a raw ID of E");
        Assert.False(PsiHarness.ContainsAny(toM, e.Select(id => PsiHarness.HashOf("test-alignment", id))), "M received an unblinded H(id) of E");
    }

    [Fact]
    public void The_transcript_scanner_finds_a_leaked_id_or_hash()
    {
        // Negative control: the check above can fail.
        var ids = PsiHarness.RandomIds(5, "x");
        var leakedHash = PsiHarness.HashOf("test-alignment", ids[3]);
        var payload = new byte[200];
        leakedHash.CopyTo(payload, 77);
        Assert.True(PsiHarness.ContainsAny([new byte[50], payload], ids.Select(id => PsiHarness.HashOf("test-alignment", id))));
        var raw = Encoding.UTF8.GetBytes("{\"x\":\"" + ids[1] + "\"}");
        Assert.True(PsiHarness.ContainsAny([raw], ids.Select(Encoding.UTF8.GetBytes)));
    }

    [Fact]
    public async Task Job_folder_holds_no_peer_raw_ids_and_the_secret_files_are_private()
    {
        using var h = new PsiHarness();
        var (m, e, common) = PsiHarness.Sets(600, 600, 0.5);
        var (rm, re) = await h.RunAsync(m, e, "folder");

        var mOnlyIds = m.Where(x => !common.Contains(x)).ToList();
        var eOnlyIds = e.Where(x => !common.Contains(x)).ToList();
        var filesM = Directory.GetFiles(rm.JobFolder).Select(File.ReadAllBytes).ToList();
        var filesE = Directory.GetFiles(re.JobFolder).Select(File.ReadAllBytes).ToList();
        Assert.False(PsiHarness.ContainsAny(filesM, eOnlyIds.Select(Encoding.UTF8.GetBytes)));
        Assert.False(PsiHarness.ContainsAny(filesM, e.Select(id => PsiHarness.HashOf("test-alignment", id))));
        Assert.False(PsiHarness.ContainsAny(filesE, mOnlyIds.Select(Encoding.UTF8.GetBytes)));
        Assert.False(PsiHarness.ContainsAny(filesE, m.Select(id => PsiHarness.HashOf("test-alignment", id))));

        if (!OperatingSystem.IsWindows())
        {
            foreach (var folder in new[] { rm.JobFolder, re.JobFolder })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "secret-keys.bin")));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "own-items.bin")));
            }
        }
        Assert.True(File.Exists(Path.Combine(rm.JobFolder, "manifest.json")));
    }

    [Fact]
    public async Task Different_domains_do_not_align()
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(100, 100, 1.0);
        var outcome = h.Start(m, e, "domains", folder => new PsiOptions
        {
            Domain = folder.EndsWith("-m") ? "job-1" : "job-2",
            JobFolder = folder,
            MessageTimeout = TimeSpan.FromSeconds(30),
        });
        var ex = await Assert.ThrowsAsync<Federated.Core.ProtocolViolationException>(() => outcome.Music);
        Assert.Contains("domain", ex.Message);
        await Assert.ThrowsAnyAsync<Exception>(() => outcome.External);
    }

    [Fact]
    public void Hash_to_group_matches_libsodiums_published_vector_and_depends_on_the_domain()
    {
        // Known answer for crypto_core_ristretto255_from_hash (libsodium / PHP manual example).
        var input = Convert.FromHexString(
            "5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c1" +
            "4d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6");
        var point = new byte[32];
        Ristretto255.FromHash(input, point);
        Assert.Equal("3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46", Convert.ToHexString(point).ToLowerInvariant());

        Assert.NotEqual(PsiHarness.HashOf("job-a", "user-1"), PsiHarness.HashOf("job-b", "user-1"));
        Assert.True(Ristretto255.IsValidPoint(PsiHarness.HashOf("job-a", "user-1")));
    }

    [Fact]
    public void Blinding_commutes_and_rejects_invalid_points()
    {
        var a = new byte[32];
        var b = new byte[32];
        Ristretto255.RandomScalar(a);
        Ristretto255.RandomScalar(b);
        var p = PsiHarness.HashOf("d", "id");
        var pa = new byte[32]; var pab = new byte[32]; var pb = new byte[32]; var pba = new byte[32];
        Assert.True(Ristretto255.TryMultiply(a, p, pa));
        Assert.True(Ristretto255.TryMultiply(b, pa, pab));
        Assert.True(Ristretto255.TryMultiply(b, p, pb));
        Assert.True(Ristretto255.TryMultiply(a, pb, pba));
        Assert.Equal(pab, pba);
        Assert.NotEqual(p, pa);

        var invalid = Enumerable.Repeat((byte)0xff, 32).ToArray();
        Assert.False(Ristretto255.TryMultiply(a, invalid, pa));
        Assert.False(Ristretto255.TryMultiply(a, new byte[32], pa)); // identity
    }
}
