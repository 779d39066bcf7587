using Federated.Operator;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Federated.Launcher;

namespace Federated.Integration.Tests.Dashboard;

/// <summary>
/// The dashboard's JSON API on the real coordinator process: who may call it (no credential 401, unknown token 401,
/// an auditor may not roll back 403, an operator certificate works, a party's certificate is refused), what its
/// listener serves, and that no answer carries a payload, a feature, a label, key material or a token.
/// </summary>
[Collection(DashboardFederationCollection.Name)]
public sealed class DashboardApiTests(DashboardFederationFixture fixture)
{
    private static readonly string[] ReadEndpoints = ["/api/me", "/api/parties", "/api/jobs", "/api/schedules", "/api/privacy", "/api/models", "/api/audit"];

    private static HttpRequestMessage Post(string path, string json = "{}") => new(HttpMethod.Post, path)
    {
        Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        Headers = { { "X-Federated-Dashboard", "1" } },
    };

    [Fact]
    public async Task A_job_definition_and_its_rounds_are_listed_with_their_job_but_not_their_parameters()
    {
        var name = "dashboard-ping-" + Guid.NewGuid().ToString("N")[..6];
        var path = Path.Combine(fixture.RunDirectory, name + ".yaml");
        await File.WriteAllTextAsync(path, $"""
            name: {name}
            kind: ping
            parties:
              music: {RunFolder.MusicName}
              external: {RunFolder.ExternalName}
            parameters:
              rounds: 1
              size: 77
            schedule:
              cron: "0 3 1 1 *"
            roundTimeout: 60s
            """);
        var submitted = await Fedctl.RunAsync(fixture, "jobs", "submit", path);
        Assert.True(submitted.ExitCode == 0, submitted.Output);
        var started = await Fedctl.RunAsync(fixture, "jobs", "run-now", name);
        Assert.True(started.ExitCode == 0, started.Output);

        using var auditor = fixture.Client(token: DashboardFederationFixture.AuditorToken);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var text = await auditor.GetStringAsync("/api/schedules");
            var definition = JsonDocument.Parse(text).RootElement.EnumerateArray().Single(d => d.GetProperty("name").GetString() == name);
            Assert.Equal("0 3 1 1 *", definition.GetProperty("schedule").GetString());
            Assert.Equal(new DateTime(DateTime.UtcNow.Year + 1, 1, 1, 3, 0, 0, DateTimeKind.Utc),
                definition.GetProperty("nextSlot").GetDateTimeOffset().UtcDateTime);
            Assert.DoesNotContain("size", text, StringComparison.OrdinalIgnoreCase); // parameters stay out of the view
            var run = definition.GetProperty("runs").EnumerateArray().SingleOrDefault();
            if (run.ValueKind == JsonValueKind.Object && run.GetProperty("finished").ValueKind != JsonValueKind.Null)
            {
                Assert.Equal("on-demand", run.GetProperty("trigger").GetString());
                var jobId = run.GetProperty("jobId").GetString();
                Assert.False(string.IsNullOrEmpty(jobId), text);
                var job = await auditor.GetFromJsonAsync<JsonElement>($"/api/jobs/{jobId}");
                Assert.Equal("ping", job.GetProperty("job").GetProperty("kind").GetString());
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the round did not finish: {text}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task A_request_without_a_credential_or_with_an_unknown_token_is_refused_with_401()
    {
        using var anonymous = fixture.Client();
        using var wrong = fixture.Client(token: "not-a-configured-token-at-all");
        foreach (var path in ReadEndpoints)
        {
            var none = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Contains("Bearer", none.Headers.WwwAuthenticate.ToString());
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync(path)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(Post("/api/models/rollback"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(Post("/api/session", "{\"token\":\"guess-guess-guess-guess\"}"))).StatusCode);
        var forged = new HttpRequestMessage(HttpMethod.Get, "/api/jobs") { Headers = { { "Cookie", "federated-dashboard=made-up-session" } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(forged)).StatusCode);
        // The page itself holds no data and is open.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/dashboard/")).StatusCode);
    }

    [Fact]
    public async Task An_auditor_sees_everything_but_may_not_roll_back_and_an_operator_may()
    {
        using var auditor = fixture.Client(token: DashboardFederationFixture.AuditorToken);
        foreach (var path in ReadEndpoints)
            Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync(path)).StatusCode);
        var me = await auditor.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("auditor", me.GetProperty("role").GetString());
        Assert.False(me.GetProperty("canRollback").GetBoolean());
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.SendAsync(Post("/api/models/rollback"))).StatusCode);
        var verify = await auditor.SendAsync(Post("/api/audit/verify"));
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        Assert.True((await verify.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("isValid").GetBoolean());

        using var op = fixture.Client(token: DashboardFederationFixture.OperatorToken);
        var opMe = await op.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("ops", opMe.GetProperty("name").GetString());
        Assert.True(opMe.GetProperty("canRollback").GetBoolean());
        // A state change without the dashboard's header (what a form of another site would send) is refused before it acts.
        var bare = new HttpRequestMessage(HttpMethod.Post, "/api/models/rollback") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        Assert.Equal(HttpStatusCode.BadRequest, (await op.SendAsync(bare)).StatusCode);
    }

    [Fact]
    public async Task The_operator_certificate_opens_the_dashboard_and_a_party_certificate_is_refused()
    {
        using var op = fixture.Client(certificate: RunFolder.OperatorName);
        var me = await op.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal(RunFolder.OperatorName, me.GetProperty("name").GetString());
        Assert.Equal("operator", me.GetProperty("role").GetString());
        Assert.Equal("certificate", me.GetProperty("credential").GetString());

        using var music = fixture.Client(certificate: RunFolder.MusicName);
        Assert.Equal(HttpStatusCode.Forbidden, (await music.GetAsync("/api/jobs")).StatusCode);
    }

    [Fact]
    public async Task The_dashboard_listener_serves_only_the_dashboard()
    {
        using var op = fixture.Client(token: DashboardFederationFixture.OperatorToken);
        Assert.Equal(HttpStatusCode.NotFound, (await op.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await op.SendAsync(Post("/federated.transport.v1.Jobs/ListJobs"))).StatusCode);
    }

    private static readonly HashSet<string> ForbiddenNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "payload", "sealedPayload", "data", "features", "feature", "labels", "label", "values", "vectors", "embeddings",
        "privateKey", "secretKey", "secret", "token", "tokens", "sha256", "password", "certificatePem", "rawData",
    };

    [Fact]
    public async Task No_endpoint_emits_payloads_features_labels_key_material_or_tokens()
    {
        var ping = await fixture.RunJobAsync("ping", ("seed", "12345678"));
        using var op = fixture.Client(token: DashboardFederationFixture.OperatorToken);
        var bodies = new Dictionary<string, string>();
        foreach (var path in ReadEndpoints.Append($"/api/jobs/{ping.JobId}").Append($"/api/audit?job={ping.JobId}"))
            bodies[path] = await op.GetStringAsync(path);
        var verify = await op.SendAsync(Post("/api/audit/verify"));
        bodies["/api/audit/verify"] = await verify.Content.ReadAsStringAsync();

        var problems = new List<string>();
        foreach (var (path, body) in bodies)
        {
            foreach (var name in Names(JsonDocument.Parse(body).RootElement))
                if (ForbiddenNames.Contains(name)) problems.Add($"{path} has a field '{name}'");
            foreach (var secret in new[] { DashboardFederationFixture.OperatorToken, DashboardFederationFixture.AuditorToken, "PRIVATE KEY", "BEGIN CERTIFICATE", "12345678" })
                if (body.Contains(secret, StringComparison.Ordinal)) problems.Add($"{path} contains '{secret}'");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));

        // What it does show of that job is real: its relayed messages and the seed recorded as set, not by value.
        var detail = JsonDocument.Parse(bodies[$"/api/jobs/{ping.JobId}"]).RootElement;
        Assert.True(detail.GetProperty("job").GetProperty("messagesRelayed").GetInt64() > 0);
        Assert.Equal("(set; value not recorded)", detail.GetProperty("job").GetProperty("parameters").GetProperty("seed").GetString());
        var audit = JsonDocument.Parse(bodies[$"/api/audit?job={ping.JobId}"]).RootElement;
        Assert.True(audit.GetProperty("matched").GetInt32() > 0);
        Assert.All(audit.GetProperty("records").EnumerateArray(), r => Assert.Equal(ping.JobId, r.GetProperty("jobId").GetString()));
    }

    private static IEnumerable<string> Names(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
            foreach (var property in element.EnumerateObject())
            {
                yield return property.Name;
                foreach (var inner in Names(property.Value)) yield return inner;
            }
        else if (element.ValueKind == JsonValueKind.Array)
            foreach (var item in element.EnumerateArray())
                foreach (var inner in Names(item)) yield return inner;
    }
}
