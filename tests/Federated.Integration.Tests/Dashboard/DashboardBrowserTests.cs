using Federated.Operator;
using Federated.Launcher;
using Federated.PartyJobs;
using Federated.Serving.Publication;
using Federated.Transport.V1;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Federated.Integration.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, driven by Playwright) against the real coordinator while a real
/// train job runs: the login, the job's phase and step advancing on the page, the finished run's metrics and plots,
/// the audit verify result, model versions with the operator's rollback and the auditor without it. Screenshots go to
/// the artifacts folder (FEDERATED_TEST_ARTIFACTS, else artifacts/dashboard beside the tests).
/// </summary>
[Collection(DashboardFederationCollection.Name)]
public sealed class DashboardBrowserTests(DashboardFederationFixture fixture, ITestOutputHelper output)
{
    private static readonly string[] Finished = ["Completed", "Failed", "Stopped"];

    private static async Task<IBrowser> LaunchAsync(IPlaywright playwright) => await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"],
    });

    private async Task<IPage> LogInAsync(IBrowser browser, string token)
    {
        // The federation's CA is not in the browser's store; the HTTPS connection is still the coordinator's listener.
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true, BaseURL = fixture.Dashboard.ToString(), ViewportSize = new() { Width = 1400, Height = 1000 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/dashboard/");
        await page.Locator("#login").WaitForAsync();
        await page.FillAsync("#token", token);
        await page.ClickAsync("#login-button");
        await page.Locator("#board").WaitForAsync();
        return page;
    }

    private async Task ShotAsync(IPage page, string name)
    {
        var path = Path.Combine(DashboardFederationFixture.ArtifactsFolder(), name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Assert.True(new FileInfo(path).Length > 10_000, path);
        output.WriteLine($"screenshot: {path}");
    }

    private static void PublishOlder(EmbeddingVersionStore store)
    {
        const int d = 4;
        var random = new Random(5);
        var items = Enumerable.Range(0, 10).Select(i => $"song-{i}").ToArray();
        var users = Enumerable.Range(0, 3).Select(i => $"user-{i}").ToArray();
        store.Publish(new EmbeddingManifest
        {
            TrainingJob = "dash-older", AttemptId = "attempt-dash-older", Round = 1, Dimensions = d, Items = 0, Users = 0,
            SchemaFingerprint = "schema-dash-older", Metrics = new Dictionary<string, double> { ["hr@50"] = 0.5 },
        }, items, Enumerable.Range(0, items.Length * d).Select(_ => (float)random.NextDouble()).ToArray(),
            users, Enumerable.Range(0, users.Length * d).Select(_ => (float)random.NextDouble()).ToArray());
    }

    [Fact]
    public async Task The_board_follows_a_running_train_job_shows_the_finished_run_verifies_the_audit_log_and_keeps_rollback_from_the_auditor()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);

        // A wrong token is refused on the page; the operator's opens the board.
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true, BaseURL = fixture.Dashboard.ToString() });
        var anonymous = await context.NewPageAsync();
        await anonymous.GotoAsync("/dashboard/");
        await anonymous.FillAsync("#token", "wrong-token-wrong-token");
        await anonymous.ClickAsync("#login-button");
        await anonymous.Locator("#login-error").WaitForAsync();
        Assert.True(await anonymous.Locator("#board").IsHiddenAsync());
        Assert.Equal(401, await anonymous.EvaluateAsync<int>("async () => (await fetch('/api/jobs')).status"));

        var page = await LogInAsync(browser, DashboardFederationFixture.OperatorToken);
        Assert.Equal("operator", await page.TextContentAsync("#who-role"));
        await page.Locator($"#parties tr[data-party-id='{RunFolder.MusicName}'] td.online").WaitForAsync();
        var musicRow = await page.TextContentAsync($"#parties tr[data-party-id='{RunFolder.MusicName}']") ?? "";
        Assert.Contains($"CN={RunFolder.MusicName}", musicRow);
        Assert.Contains("days)", musicRow);

        // An older serving version in M's store, so there is something to roll back to.
        var store = new EmbeddingVersionStore(Path.Combine(fixture.Folder.PartyState(RunFolder.MusicName), "serving"));
        PublishOlder(store);

        // A real train job; the page (polling every second) must show its phase and step move while it runs.
        using var op = fixture.Connect();
        var request = LocalFederationFixture.NewJob(TrainJobHandler.JobKind, ("trainingJob", "dash-run"), ("evaluationUsers", fixture.EvaluationUsersFile),
            ("batchSize", "256"), ("pretrainEpochs", "1"), ("epochs", "2"), ("torchThreads", "1"), ("messageTimeoutSeconds", "120"));
        var job = await op.Jobs.CreateJobAsync(request);
        var row = $"#jobs tr[data-job-id='{job.JobId}']";
        var seen = new List<string>();
        var deadline = DateTime.UtcNow.AddMinutes(6);
        var shotWhileRunning = false;
        string state;
        while (true)
        {
            state = await page.Locator(row).GetAttributeAsync("data-state", new() { Timeout = 30_000 }) ?? "";
            if (Finished.Contains(state)) break;
            var position = $"{await page.TextContentAsync(row + " td.phase")} {await page.TextContentAsync(row + " td.step")} {await page.TextContentAsync(row + " td.messages")}";
            if (state == "Running" && !position.StartsWith('—') && (seen.Count == 0 || seen[^1] != position))
            {
                seen.Add(position);
                if (seen.Count == 3 && !shotWhileRunning)
                {
                    await ShotAsync(page, "1-running-job");
                    shotWhileRunning = true;
                }
            }
            Assert.True(DateTime.UtcNow < deadline, $"job {job.JobId} still {state}; seen {string.Join(" | ", seen)}\n{fixture.Logs()}");
            await Task.Delay(250);
        }
        output.WriteLine($"progress seen on the page: {string.Join(" | ", seen)}");
        Assert.Equal("Completed", state);
        Assert.True(seen.Select(s => s.Split(' ')[0] + " " + s.Split(' ')[1]).Distinct().Count() >= 2, $"phase/step did not change on the page: {string.Join(" | ", seen)}");

        // The finished run: metrics (the audit log's and M's final loss) and both plots.
        await page.ClickAsync(row);
        await page.Locator("#metrics tr[data-metric='finalLoss']").WaitForAsync(new() { Timeout = 30_000 });
        var messages = long.Parse(await page.TextContentAsync("#metrics tr[data-metric='messages relayed'] td:nth-child(2)") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(messages > 0);
        var finalLoss = double.Parse(await page.TextContentAsync("#metrics tr[data-metric='finalLoss'] td:nth-child(2)") ?? "", System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(double.IsFinite(finalLoss) && finalLoss > 0, $"final loss {finalLoss}");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#plots img')].length === 2 && [...document.querySelectorAll('#plots img')].every(i => i.complete && i.naturalWidth > 0)");
        await ShotAsync(page, "2-finished-run");

        // Audit verify.
        await page.ClickAsync("#audit-verify");
        await page.Locator("#audit-verify-result.ok").WaitForAsync();
        Assert.Contains("chain valid", await page.TextContentAsync("#audit-verify-result"));
        await page.FillAsync("#audit-q", job.JobId);
        await page.ClickAsync("#audit-search");
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('#audit tbody tr').length > 0 && [...document.querySelectorAll('#audit tbody tr td:nth-child(4)')].every(td => td.textContent === '{job.JobId}')");
        await ShotAsync(page, "3-audit-verified");

        // Model versions: the run's published version plus an older one; the auditor sees them without a rollback button
        // and is refused by the API; the operator rolls back on the page.
        var published = Assert.Single(store.List(), v => v.Manifest.AttemptId == job.JobId);
        Assert.True(published.Current);

        var auditor = await LogInAsync(browser, DashboardFederationFixture.AuditorToken);
        Assert.Equal("auditor", await auditor.TextContentAsync("#who-role"));
        await auditor.Locator($"#models tr[data-version='{published.Version}']").WaitForAsync();
        Assert.Equal(0, await auditor.Locator("#models button.rollback").CountAsync());
        Assert.True(await auditor.Locator("#rollback-note").IsVisibleAsync());
        Assert.Equal(403, await auditor.EvaluateAsync<int>(
            "async () => (await fetch('/api/models/rollback', { method: 'POST', headers: { 'X-Federated-Dashboard': '1', 'Content-Type': 'application/json' }, body: '{}' })).status"));
        await ShotAsync(auditor, "4-auditor-models");
        Assert.Equal(published.Version, new EmbeddingVersionStore(store.Folder).CurrentVersion);

        var older = Assert.Single(store.List(), v => v.Manifest.TrainingJob == "dash-older").Version;
        await page.ReloadAsync();
        await page.Locator($"#models tr[data-version='{older}'] button.rollback").ClickAsync();
        await page.Locator("#rollback-result").WaitForAsync();
        Assert.Contains($"M now serves {older}", await page.TextContentAsync("#rollback-result"));
        Assert.Equal(older, new EmbeddingVersionStore(store.Folder).CurrentVersion);
        await ShotAsync(page, "5-operator-rolled-back");
    }
}
