using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Federated.Core;
using Federated.Crypto.Psi;
using Federated.Data.Reading;
using Federated.Data.Schema;
using Federated.Agent;
using Federated.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Federated.PartyJobs;

/// <summary>
/// "psi": sample alignment (docs/protocol.md §1) between the music and the external party over the job's sealed
/// relay channel. Each party reads its own IDs from its own data folder, runs its PSI role and keeps the result
/// (aligned keys, joint seed, state for delta rounds) in its own state folder, under <c>psi/&lt;job id&gt;</c>.
/// <para>Parameters (the same for both parties; each resolves them against its own data folder):</para>
/// <list type="bullet">
/// <item><c>table</c>: name of a table schema in the data folder (<c>&lt;table&gt;.schema.json</c>); the IDs are
/// its key column, read streaming through the schema-validated reader. Or <c>idFile</c>: a UTF-8 file in the data
/// folder with one ID per line. Exactly one of the two.</item>
/// <item><c>previousJob</c>: id of an earlier psi job of this pair: this job is a delta round on new IDs only.</item>
/// <item><c>reuseKeysFrom</c>: id of an earlier psi job: a full round with that job's secret scalars (the same
/// double-blinded values and row order; for checking a delta round against a full one).</item>
/// <item><c>domain</c>: hash-to-group domain separator; default the job id, or the domain of the job named by
/// <c>previousJob</c> / <c>reuseKeysFrom</c>.</item>
/// <item><c>chunkPoints</c>: points per message (default 65,536).</item>
/// </list>
/// The data folder is <c>Party:DataDirectory</c>; unset, it is <c>data</c> next to the agent's state folder.
/// The job summary (audit log) carries counts and timings only; input errors that name an ID stay in this party's log.
/// </summary>
public sealed class PsiJobHandler(IOptions<PartyAgentOptions> agentOptions, IConfiguration configuration) : IJobHandler
{
    public const string DataDirectoryKey = "Party:DataDirectory";
    public const string JobsFolderName = "psi";
    public const string HandlerFileName = "psi-job.json";

    public string Kind => "psi";

    /// <summary>This party's state folder for psi jobs: <c>&lt;Agent:StateDirectory&gt;/psi</c>.</summary>
    public string JobsRoot => Path.Combine(Path.GetFullPath(agentOptions.Value.StateDirectory), JobsFolderName);

    /// <summary>This party's data folder (<c>Party:DataDirectory</c>, default <c>data</c> beside the state folder).</summary>
    public string DataDirectory
    {
        get
        {
            var configured = configuration[DataDirectoryKey];
            if (!string.IsNullOrWhiteSpace(configured))
                return Path.GetFullPath(configured);
            var state = Path.GetFullPath(agentOptions.Value.StateDirectory).TrimEnd(Path.DirectorySeparatorChar);
            return Path.Combine(Path.GetDirectoryName(state) ?? state, "data");
        }
    }

    public async Task RunAsync(JobContext context, IPeerChannel peer, CancellationToken cancellationToken)
    {
        var role = context.SelfRole switch
        {
            PartyRole.Music => PsiRole.Music,
            PartyRole.External => PsiRole.External,
            _ => throw new InvalidOperationException($"job {context.Attempt}: party {context.SelfPartyId} has role {context.SelfRole}, which takes no part in a PSI"),
        };
        var jobFolder = JobFolderOf(context.Attempt.Value, context.Attempt.Value);
        var previousFolder = context.Parameters.TryGetValue("previousJob", out var previous) && previous.Length > 0
            ? JobFolderOf(previous, context.Attempt.Value)
            : null;
        var reuseFolder = context.Parameters.TryGetValue("reuseKeysFrom", out var reuse) && reuse.Length > 0
            ? JobFolderOf(reuse, context.Attempt.Value)
            : null;
        foreach (var (name, folder) in new[] { ("previousJob", previousFolder), ("reuseKeysFrom", reuseFolder) })
            if (folder is not null && !File.Exists(Path.Combine(folder, HandlerFileName)))
                throw new ArgumentException(
                    $"job {context.Attempt}: parameter '{name}' = '{context.Parameters[name]}' names no completed psi job of party {context.SelfPartyId} (no {HandlerFileName} in {folder})");
        var earlier = previousFolder ?? reuseFolder;
        var domain = context.Parameters.TryGetValue("domain", out var d) && d.Length > 0
            ? d
            : earlier is not null ? HandlerRecord.Load(earlier).Domain : context.Attempt.Value;
        var source = OpenSource(context);
        var options = new PsiOptions
        {
            Domain = domain,
            JobFolder = jobFolder,
            PreviousJobFolder = previousFolder,
            ReuseKeysFrom = reuseFolder,
            ChunkPoints = context.GetInt("chunkPoints", 65536, 1, 1 << 20),
        };

        var started = Stopwatch.GetTimestamp();
        PsiResult result;
        try
        {
            result = await PsiParty.RunAsync(role, peer, source, options, cancellationToken).ConfigureAwait(false);
        }
        catch (PsiInputException e)
        {
            // The message may name one of this party's IDs: it stays in this party's log, the coordinator gets a category.
            context.Logger.LogError("Job {JobId}: PSI input rejected: {Reason}", context.Attempt.Value, e.Message);
            throw new PsiJobInputException(
                $"job {context.Attempt}: party {context.SelfPartyId} rejected its own ID input ({source.Description}): duplicate, empty or malformed ID, or an earlier ID missing in a delta round; the reason is in this party's log");
        }
        catch (Exception e) when (e is BadRowException or DataFileException or SchemaException)
        {
            context.Logger.LogError("Job {JobId}: PSI input rejected: {Reason}", context.Attempt.Value, e.Message);
            throw new PsiJobInputException(
                $"job {context.Attempt}: party {context.SelfPartyId} could not read its ID table ({source.Description}): {e.GetType().Name}; the row and reason are in this party's log");
        }
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        PartyMetrics.Psi(result.OwnIdCount, Stopwatch.GetElapsedTime(started));
        new HandlerRecord(domain, previous, result.Round).Save(jobFolder);

        context.Summary = string.Create(CultureInfo.InvariantCulture,
            $"psi round {result.Round}: intersection {result.IntersectionSize} of {result.OwnIdCount} own IDs ({result.OwnNewIdCount} new) and {result.PeerIdCount} peer IDs ({result.PeerNewIdCount} new); {seconds:0.0} s; aligned rows and joint seed kept in this party's state");
    }

    /// <summary>A job's folder under <see cref="JobsRoot"/>; job ids are the coordinator's, checked so none escapes it.</summary>
    private string JobFolderOf(string jobId, string currentJobId)
    {
        if (jobId.Length is 0 or > 128 || jobId.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            throw new ArgumentException($"job {currentJobId}: job id '{jobId}' may hold only letters, digits, '-' and '_' (at most 128)");
        return Path.Combine(JobsRoot, jobId);
    }

    private IdSource OpenSource(JobContext context)
    {
        context.Parameters.TryGetValue("table", out var table);
        context.Parameters.TryGetValue("idFile", out var idFile);
        if (string.IsNullOrEmpty(table) == string.IsNullOrEmpty(idFile))
            throw new ArgumentException($"job {context.Attempt}: set exactly one of the parameters 'table' (a table schema in the party's data folder) and 'idFile' (an ID file there)");
        if (!string.IsNullOrEmpty(idFile))
            return IdSource.FromFile(InDataDirectory(context, "idFile", idFile));

        var schemaPath = InDataDirectory(context, "table", table + ".schema.json");
        if (!File.Exists(schemaPath))
            throw new FileNotFoundException($"job {context.Attempt}: party {context.SelfPartyId} has no table schema '{table}' ({schemaPath})", schemaPath);
        var schema = TableSchema.Load(schemaPath);
        if (schema.Key is null)
            throw new ArgumentException($"job {context.Attempt}: table schema {schemaPath} declares no key column, so it has no IDs to align");
        return IdSource.FromAsyncEnumerable(ct => ReadKeysAsync(schemaPath, ct), $"key column '{schema.Key}' of table '{schema.Table}' ({schemaPath})");
    }

    /// <summary>Streams the key column. The PSI finds duplicates itself, so the reader keeps no key dictionary.</summary>
    private static async IAsyncEnumerable<string> ReadKeysAsync(string schemaPath, [EnumeratorCancellation] CancellationToken ct)
    {
        var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath, new ReadOptions { Policy = BadRowPolicy.FailFast, DetectDuplicateKeys = false }, ct)
            .ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        await foreach (var row in reader.WithCancellation(ct).ConfigureAwait(false))
            yield return row.Key ?? "";
    }

    /// <summary>Resolves a parameter inside the data folder: the coordinator must not point a party at other files.</summary>
    private string InDataDirectory(JobContext context, string parameter, string relative)
    {
        var root = DataDirectory;
        var full = Path.GetFullPath(Path.Combine(root, relative));
        if (Path.IsPathRooted(relative) || !full.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"job {context.Attempt}: parameter '{parameter}' = '{relative}' must name a file inside the party's data folder ({DataDirectoryKey})");
        return full;
    }

    /// <summary>What a later delta round needs to know about this round besides the PSI's own manifest.</summary>
    private sealed record HandlerRecord(string Domain, string? PreviousJob, int Round)
    {
        public void Save(string folder) =>
            File.WriteAllText(Path.Combine(folder, HandlerFileName), JsonSerializer.Serialize(this));

        public static HandlerRecord Load(string folder)
        {
            var path = Path.Combine(folder, HandlerFileName);
            return JsonSerializer.Deserialize<HandlerRecord>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path} is empty");
        }
    }
}

/// <summary>This party's own ID input was unusable; the details are in the party's log only.</summary>
public sealed class PsiJobInputException(string message) : Federated.Core.InputRejectedException(message);
