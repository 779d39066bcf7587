using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Federated.Agent;
using Federated.Hosting;
using Federated.Launcher;
using Federated.PartyJobs;
using Federated.PartyJobs.Serving;
using Federated.Transport.Relay;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Federated.Integration.Tests.Deployment;

/// <summary>
/// The deployment files (deploy/docker/Dockerfile, deploy/compose.yaml, deploy/helm/federated, deploy/config) checked
/// without a container engine or cluster: they parse, name the host dlls the solution builds, use only configuration
/// keys the hosts' options classes have, and agree with each other on ports, folders and certificate names.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot(), "deploy");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Federated.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("repository root (Federated.sln) not found above " + AppContext.BaseDirectory);
    }

    // ---- what the hosts accept -------------------------------------------------------------------------------------

    /// <summary>Section -> settable option names, from the options classes the hosts bind (the coordinator's from its dll).</summary>
    private static readonly Lazy<Dictionary<string, HashSet<string>>> Keys = new(() =>
    {
        var coordinator = Assembly.LoadFrom(Binaries.Coordinator).GetType("Federated.Coordinator.CoordinatorOptions", throwOnError: true)!;
        var sections = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var type in new[] { typeof(FederatedHostOptions), typeof(TlsOptions), typeof(RelayLimits), typeof(PartyAgentOptions), typeof(ServingOptions), coordinator })
        {
            var section = (string)type.GetField("SectionName")!.GetValue(null)!;
            sections[section] = type.GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        }
        var party = PsiJobHandler.DataDirectoryKey.Split(':');
        sections[party[0]] = [party[1]];
        return sections;
    });

    private static HostBinaries Binaries => HostBinaries.FromAssemblyMetadata(typeof(DeploymentFilesTests).Assembly);

    /// <summary>Null when "Section:Name[:index...]" is a key a host reads; otherwise why not. Serilog's section is Serilog's own.</summary>
    private static string? UnknownKey(string key)
    {
        var parts = key.Split(':');
        if (parts[0] == "Serilog")
            return null;
        if (!Keys.Value.TryGetValue(parts[0], out var names))
            return $"{key}: no options section '{parts[0]}'";
        return parts.Length >= 2 && names.Contains(parts[1]) ? null : $"{key}: '{parts.ElementAtOrDefault(1)}' is not an option of {parts[0]}";
    }

    [GeneratedRegex(@"^--([A-Za-z]+(?::[A-Za-z0-9]+)+)=(.*)$")]
    private static partial Regex Argument();

    /// <summary>The settings a host command line gives ("--Section:Key=value"); anything else in it fails.</summary>
    private static Dictionary<string, string> Settings(IEnumerable<string> arguments)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var argument in arguments)
        {
            var m = Argument().Match(argument);
            Assert.True(m.Success, $"'{argument}' is not a --Section:Key=value setting");
            Assert.Null(UnknownKey(m.Groups[1].Value));
            settings[m.Groups[1].Value] = m.Groups[2].Value;
        }
        return settings;
    }

    // ---- deploy/config ----------------------------------------------------------------------------------------------

    private static Dictionary<string, string> AppSettings(string host)
    {
        var flat = new Dictionary<string, string>(StringComparer.Ordinal);
        void Walk(JsonElement e, string prefix)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject()) Walk(p.Value, prefix.Length == 0 ? p.Name : $"{prefix}:{p.Name}");
                    break;
                case JsonValueKind.Array:
                    var i = 0;
                    foreach (var item in e.EnumerateArray()) Walk(item, $"{prefix}:{i++}");
                    break;
                default:
                    flat[prefix] = e.ToString();
                    break;
            }
        }
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "config", $"{host}.appsettings.json")));
        Walk(document.RootElement, "");
        return flat;
    }

    public static TheoryData<string> Hosts => new() { "coordinator", "music", "external" };

    [Theory]
    [MemberData(nameof(Hosts))]
    public void Every_key_of_an_example_configuration_is_an_option_the_host_reads(string host)
    {
        var settings = AppSettings(host);
        Assert.NotEmpty(settings);
        Assert.All(settings.Keys, key => Assert.Null(UnknownKey(key)));
        Assert.Equal(host, settings["Tls:CertificateName"]);
        Assert.NotEqual("0", settings["Host:MetricsPort"]);
    }

    [Fact]
    public void The_option_names_the_checks_know_include_the_metrics_listener_and_refuse_a_made_up_key()
    {
        Assert.Null(UnknownKey("Host:MetricsPort"));
        Assert.Null(UnknownKey("Coordinator:EnrollCertificates:0"));
        Assert.NotNull(UnknownKey("Host:MetricPort"));
        Assert.NotNull(UnknownKey("Agent:Coordinator"));
        Assert.NotNull(UnknownKey("Hosting:Port"));
    }

    // ---- Dockerfile -------------------------------------------------------------------------------------------------

    private sealed record Stage(string Name, string From, List<string> Lines);

    private static List<Stage> Stages()
    {
        var stages = new List<Stage>();
        var text = File.ReadAllText(Path.Combine(Deploy, "docker", "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            if (FromLine().Match(line) is { Success: true } from)
                stages.Add(new Stage(from.Groups[2].Value, from.Groups[1].Value, []));
            else
                stages[^1].Lines.Add(line);
        }
        return stages;
    }

    [GeneratedRegex(@"^FROM\s+(\S+)\s+AS\s+(\S+)$", RegexOptions.IgnoreCase)]
    private static partial Regex FromLine();

    private static string[] Entrypoint(Stage stage) =>
        JsonSerializer.Deserialize<string[]>(stage.Lines.Single(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal))["ENTRYPOINT ".Length..])!;

    [Fact]
    public void Each_image_starts_exactly_the_host_dll_the_solution_builds_and_the_tests_run()
    {
        var stages = Stages().ToDictionary(s => s.Name);
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", stages["build"].From);
        var fedctl = typeof(DeploymentFilesTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ToolDll:fedctl").Value!;
        foreach (var (target, dll) in new[] { ("coordinator", Binaries.Coordinator), ("music", Binaries.Music), ("external", Binaries.External), ("fedctl", fedctl) })
        {
            var stage = stages[target];
            Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", stage.From);
            Assert.True(File.Exists(dll), dll);
            Assert.Equal(["dotnet", Path.GetFileName(dll)], Entrypoint(stage));
            // the stage copies what the build stage published for it, from the project that builds that dll
            Assert.Contains($"COPY --from=build /out/{target} .", stage.Lines);
            var project = Path.GetFileNameWithoutExtension(dll) == "fedctl" ? "Federated.Cli" : Path.GetFileNameWithoutExtension(dll);
            Assert.Matches($@"dotnet publish \S*/{Regex.Escape(project)}\.csproj -c Release -o /out/{target}(\s|$)", string.Join(" ", stages["build"].Lines));
            Assert.Contains("WORKDIR /app", stage.Lines);
        }
    }

    // ---- compose.yaml -----------------------------------------------------------------------------------------------

    private static YamlMappingNode LoadYaml(string path)
    {
        using var reader = new StringReader(File.ReadAllText(path));
        var stream = new YamlStream();
        stream.Load(new MergingParser(new Parser(reader)));
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static YamlNode? Get(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next))
                return null;
            node = next;
        }
        return node;
    }

    private static string Text(YamlNode? node) => ((YamlScalarNode)(node ?? throw new KeyNotFoundException("missing YAML value"))).Value!;

    private static IEnumerable<string> Texts(YamlNode? node) => node is YamlSequenceNode list ? list.Children.Select(Text) : [];

    /// <summary>Compose volume entries as (source, target, subpath), from the short or the long syntax.</summary>
    private static List<(string Source, string Target, string? Subpath)> Volumes(YamlNode service) =>
        (Get(service, "volumes") as YamlSequenceNode)?.Children.Select(v => v is YamlScalarNode s
                ? (s.Value!.Split(':')[0], s.Value!.Split(':')[1], (string?)null)
                : (Text(Get(v, "source")), Text(Get(v, "target")), Get(v, "volume", "subpath") is { } sub ? Text(sub) : null))
            .ToList() ?? [];

    [Fact]
    public void Compose_brings_up_the_three_hosts_with_certificates_from_a_one_shot_fedctl_service_and_consistent_settings()
    {
        var compose = LoadYaml(Path.Combine(Deploy, "compose.yaml"));
        var services = (YamlMappingNode)Get(compose, "services")!;
        var stages = Stages().Select(s => s.Name).ToHashSet();
        var declaredVolumes = ((YamlMappingNode)Get(compose, "volumes")!).Children.Keys.Select(Text).ToHashSet();

        // certs: fedctl's image, `certs create`, once; the hosts wait for it to complete
        var certs = Get(services, "certs")!;
        Assert.Equal("fedctl", Text(Get(certs, "build", "target")));
        Assert.Contains("fedctl.dll certs create --out /certs/all", Texts(Get(certs, "command")).Single());
        Assert.Equal("service_completed_successfully", Text(Get(services, "coordinator", "depends_on", "certs", "condition")));

        foreach (var host in new[] { "coordinator", "music", "external" })
        {
            var service = Get(services, host)!;
            var target = Text(Get(service, "build", "target"));
            Assert.Equal(host, target);
            Assert.Contains(target, stages);
            Assert.Null(Get(service, "entrypoint")); // the image's own ENTRYPOINT: the host command the tests run
            var settings = AppSettings(host);
            var command = Settings(Texts(Get(service, "command")));
            foreach (var (key, value) in command)
                settings[key] = value;
            if (Get(service, "environment") is YamlMappingNode environment)
                foreach (var (key, value) in environment.Children.Select(p => (Text(p.Key), Text(p.Value))))
                {
                    Assert.StartsWith("FEDERATED_", key, StringComparison.Ordinal);
                    var setting = key["FEDERATED_".Length..].Replace("__", ":", StringComparison.Ordinal);
                    Assert.Null(UnknownKey(setting));
                    settings[setting] = value;
                }

            var volumes = Volumes(service);
            Assert.All(volumes.Where(v => !v.Source.StartsWith('.')), v => Assert.Contains(v.Source, declaredVolumes));
            Assert.Contains(volumes, v => v.Source == $"./config/{host}.appsettings.json" && v.Target == "/app/appsettings.json");
            Assert.True(File.Exists(Path.Combine(Deploy, "config", $"{host}.appsettings.json")));
            // its own certificate folder from the certs volume, where Tls:* looks
            Assert.Contains(volumes, v => v.Source == "certs" && v.Subpath == host && v.Target == settings["Tls:CertificateDirectory"]);
            Assert.Equal(settings["Tls:CertificateDirectory"], settings["Tls:AuthorityDirectory"]);
            // the certs script gives this host its own folder ($$ is compose's escape for a shell $)
            Assert.Matches($@"for host in [^\n]*\b{host}\b[^\n]*\n[\s\S]*cp /certs/all/ca.crt.pem /certs/all/\$\$host.crt.pem /certs/all/\$\$host.key.pem /certs/\$\$host/",
                Texts(Get(certs, "command")).Single());
            // its private folder on a named volume
            var privateFolder = host == "coordinator" ? settings["Coordinator:DataDirectory"] : settings["Agent:StateDirectory"];
            Assert.Contains(volumes, v => declaredVolumes.Contains(v.Source) && v.Source != "certs" && v.Target == privateFolder);
            Assert.Equal("0.0.0.0", settings["Host:Address"]);
            Assert.Equal("", settings["Host:LogFile"]);
            if (host != "coordinator")
                Assert.Equal($"https://coordinator:{AppSettings("coordinator")["Host:Port"]}", settings["Agent:CoordinatorAddress"]);
        }

        // the coordinator's port is published as configured; it enrols the certificates the certs service copies
        var coordinator = AppSettings("coordinator");
        Assert.Equal([$"{coordinator["Host:Port"]}:{coordinator["Host:Port"]}"], Texts(Get(services, "coordinator", "ports")));
        var enrol = Volumes(Get(services, "coordinator")!).Single(v => v.Subpath == "enrol");
        var enrolled = coordinator.Where(p => p.Key.StartsWith("Coordinator:EnrollCertificates:", StringComparison.Ordinal)).Select(p => p.Value).ToList();
        Assert.Equal(3, enrolled.Count);
        Assert.All(enrolled, path => Assert.Equal(enrol.Target, Path.GetDirectoryName(path)));
        var script = Texts(Get(certs, "command")).Single();
        Assert.All(enrolled, path => Assert.Contains($"/certs/all/{Path.GetFileName(path)}", script));
    }

    // ---- the Helm chart ---------------------------------------------------------------------------------------------

    private static object? Plain(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(p => Text(p.Key), p => Plain(p.Value)) as IReadOnlyDictionary<string, object?>,
        YamlSequenceNode list => list.Children.Select(Plain).ToList() as IList<object?>,
        YamlScalarNode scalar => scalar.Value,
        _ => throw new FormatException(node.NodeType.ToString()),
    };

    private static List<YamlMappingNode> RenderChart(string release)
    {
        var chart = Path.Combine(Deploy, "helm", "federated");
        var meta = LoadYaml(Path.Combine(chart, "Chart.yaml"));
        Assert.Equal("v2", Text(Get(meta, "apiVersion")));
        var root = new Dictionary<string, object?>
        {
            ["Values"] = Plain(LoadYaml(Path.Combine(chart, "values.yaml"))),
            ["Release"] = new Dictionary<string, object?> { ["Name"] = release } as IReadOnlyDictionary<string, object?>,
            ["Chart"] = Plain(meta),
        };
        var renderer = new ChartRenderer(root);
        var documents = new List<YamlMappingNode>();
        foreach (var template in Directory.GetFiles(Path.Combine(chart, "templates"), "*.yaml").Order(StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(renderer.Render(File.ReadAllText(template))));
            documents.AddRange(stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>());
        }
        return documents;
    }

    [Fact]
    public void The_chart_renders_a_coordinator_with_its_volume_and_service_and_one_party_statefulset_per_party_consistent_with_the_configurations()
    {
        var documents = RenderChart("fed");
        YamlMappingNode One(string kind, string name) => documents.Single(d => Text(Get(d, "kind")) == kind && Text(Get(d, "metadata", "name")) == name);
        Assert.All(documents, d => Assert.NotNull(Get(d, "apiVersion")));

        // coordinator: Deployment + Service + PVC, its Secret mounted where Tls:* looks
        var deployment = One("Deployment", "fed-coordinator");
        var container = (YamlMappingNode)((YamlSequenceNode)Get(deployment, "spec", "template", "spec", "containers")!).Children.Single();
        var settings = Settings(Texts(Get(container, "args")));
        var config = AppSettings("coordinator");
        Assert.Equal(config["Host:Port"], settings["Host:Port"]);
        Assert.Equal(config["Host:MetricsPort"], settings["Host:MetricsPort"]);
        Assert.Equal(config["Coordinator:DataDirectory"], settings["Coordinator:DataDirectory"]);
        Assert.Equal("coordinator", settings["Tls:CertificateName"]);
        Assert.Equal(["fed-coordinator-data"], ClaimsMountedAt(deployment, container, settings["Coordinator:DataDirectory"]));
        One("PersistentVolumeClaim", "fed-coordinator-data");
        var coordinatorSecret = One("Secret", SecretMountedAt(deployment, container, settings["Tls:CertificateDirectory"]));
        var enrolled = settings.Where(p => p.Key.StartsWith("Coordinator:EnrollCertificates:", StringComparison.Ordinal)).Select(p => Path.GetFileName(p.Value)).ToList();
        Assert.Equal(["operator.crt.pem", "music.crt.pem", "external.crt.pem"], enrolled);
        Assert.All(enrolled.Concat(["ca.crt.pem", "coordinator.crt.pem", "coordinator.key.pem"]), file => Assert.NotNull(Get(coordinatorSecret, "data", file)));
        var service = One("Service", "fed-coordinator");
        var port = (YamlMappingNode)((YamlSequenceNode)Get(service, "spec", "ports")!).Children.Single();
        Assert.Equal(config["Host:Port"], Text(Get(port, "port")));
        Assert.Contains(((YamlSequenceNode)Get(container, "ports")!).Children, p => Text(Get(p, "name")) == Text(Get(port, "targetPort")) && Text(Get(p, "containerPort")) == config["Host:Port"]);
        Assert.Equal(Text(Get(deployment, "spec", "selector", "matchLabels", "app.kubernetes.io/name")), Text(Get(service, "spec", "selector", "app.kubernetes.io/name")));

        // parties: a StatefulSet with its state volume and a Secret with its certificate, dialling the coordinator's Service
        foreach (var party in new[] { "music", "external" })
        {
            var set = One("StatefulSet", $"fed-{party}");
            var agent = (YamlMappingNode)((YamlSequenceNode)Get(set, "spec", "template", "spec", "containers")!).Children.Single();
            var args = Settings(Texts(Get(agent, "args")));
            var partyConfig = AppSettings(party);
            Assert.Equal(partyConfig["Host:Port"], args["Host:Port"]);
            Assert.Equal(partyConfig["Host:MetricsPort"], args["Host:MetricsPort"]);
            Assert.Equal(partyConfig["Agent:StateDirectory"], args["Agent:StateDirectory"]);
            Assert.Equal(party, args["Tls:CertificateName"]);
            Assert.Equal($"https://fed-coordinator:{config["Host:Port"]}", args["Agent:CoordinatorAddress"]);
            var claim = ((YamlSequenceNode)Get(set, "spec", "volumeClaimTemplates")!).Children.Select(c => Text(Get(c, "metadata", "name"))).Single();
            Assert.Contains(((YamlSequenceNode)Get(agent, "volumeMounts")!).Children, m => Text(Get(m, "name")) == claim && Text(Get(m, "mountPath")) == args["Agent:StateDirectory"]);
            var secret = One("Secret", SecretMountedAt(set, agent, args["Tls:CertificateDirectory"]));
            Assert.All(new[] { "ca.crt.pem", $"{party}.crt.pem", $"{party}.key.pem" }, file => Assert.NotNull(Get(secret, "data", file)));
            Assert.Null(Get(secret, "data", "coordinator.key.pem"));
        }
        Assert.Equal(2, documents.Count(d => Text(Get(d, "kind")) == "StatefulSet"));
    }

    [Fact]
    public void The_chart_renderer_refuses_what_it_does_not_implement()
    {
        var renderer = new ChartRenderer(new Dictionary<string, object?> { ["Values"] = new Dictionary<string, object?> { ["a"] = "x" } as IReadOnlyDictionary<string, object?> });
        Assert.Equal("v: \"x\"", renderer.Render("v: {{ .Values.a | quote }}"));
        Assert.Throws<FormatException>(() => renderer.Render("{{ if .Values.a }}y{{ end }}"));
        Assert.Throws<FormatException>(() => renderer.Render("{{ .Values.a | upper }}"));
        Assert.Throws<FormatException>(() => renderer.Render("{{ .Values.missing }}"));
    }

    private static YamlSequenceNode PodVolumes(YamlMappingNode workload) => (YamlSequenceNode)Get(workload, "spec", "template", "spec", "volumes")!;

    private static string VolumeMountedAt(YamlMappingNode container, string path) =>
        Text(Get(((YamlSequenceNode)Get(container, "volumeMounts")!).Children.Single(m => Text(Get(m, "mountPath")) == path), "name"));

    private static List<string> ClaimsMountedAt(YamlMappingNode workload, YamlMappingNode container, string path)
    {
        var name = VolumeMountedAt(container, path);
        return PodVolumes(workload).Children.Where(v => Text(Get(v, "name")) == name).Select(v => Text(Get(v, "persistentVolumeClaim", "claimName"))).ToList();
    }

    private static string SecretMountedAt(YamlMappingNode workload, YamlMappingNode container, string path)
    {
        var name = VolumeMountedAt(container, path);
        return Text(Get(PodVolumes(workload).Children.Single(v => Text(Get(v, "name")) == name), "secret", "secretName"));
    }
}
