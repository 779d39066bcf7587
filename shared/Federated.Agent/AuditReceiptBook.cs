using System.Security.Cryptography.X509Certificates;
using Federated.Security;
using Federated.Transport.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Federated.Agent;

/// <summary>
/// This party's chain-head receipts: at a job milestone it asks the coordinator for the head of the audit log's
/// hash chain, checks it against the heads it saw before (the log must never shrink, and an index seen before must
/// keep its hash), signs a receipt with the party's certificate key and appends it to its receipts file
/// (<see cref="AuditReceiptFile"/>, in the party's state folder). Fails soft: a coordinator that does not answer, or a
/// file that cannot be written, gives a warning and never fails the job. Receipts are never sent anywhere.
/// </summary>
public sealed class AuditReceiptBook
{
    private readonly Func<X509Certificate2> _certificate;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private long _lastIndex = -1;
    private string? _lastHash;

    /// <summary>Opens the receipts file at <paramref name="path"/> (it need not exist yet) and reads the last head it holds.</summary>
    public AuditReceiptBook(string path, X509Certificate2 certificate, ILogger logger, TimeProvider? time = null)
        : this(path, () => certificate, logger, time) { }

    /// <summary>Signs each receipt with the certificate <paramref name="certificate"/> gives at that moment (the newest after a rotation).</summary>
    public AuditReceiptBook(string path, Func<X509Certificate2> certificate, ILogger logger, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _certificate = certificate;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        if (File.Exists(Path))
        {
            try
            {
                foreach (var entry in AuditReceiptFile.Read(Path))
                    Remember(entry.Receipt.Index, entry.Receipt.Hash);
            }
            catch (InvalidDataException e)
            {
                _logger.LogWarning("Receipts file {Path} has a line that is not a receipt; earlier heads are not compared: {Problem}", Path, e.Message);
            }
        }
    }

    /// <summary>The receipts file.</summary>
    public string Path { get; }

    /// <summary>Asks the coordinator for the chain head and records a signed receipt for <paramref name="jobId"/> at <paramref name="milestone"/>.</summary>
    /// <returns>The receipt, or null when none was taken (the warning says why).</returns>
    public async Task<AuditReceipt?> TakeAsync(Transport.V1.Jobs.JobsClient jobs, string jobId, string milestone, CancellationToken ct)
    {
        AuditHead head;
        try
        {
            head = await jobs.GetAuditHeadAsync(new GetAuditHeadRequest { JobId = jobId }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct)
                .ConfigureAwait(false);
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            _logger.LogWarning("No audit receipt for job {JobId} at '{Milestone}': the coordinator did not give its audit chain head ({Status} {Detail})",
                jobId, milestone, e.StatusCode, e.Status.Detail);
            return null;
        }
        return Record(jobId, milestone, head.Index, head.Hash, head.JobId, head.Time);
    }

    /// <summary>Checks a head the coordinator gave against the earlier ones, signs it and appends the receipt.</summary>
    public AuditReceipt? Record(string jobId, string milestone, long index, string hash, string headJobId, string headTime)
    {
        AuditReceipt receipt;
        try
        {
            receipt = AuditReceipts.Sign(_certificate(), jobId, milestone, index, hash, headJobId, headTime, _time.GetUtcNow());
        }
        catch (ArgumentException e)
        {
            _logger.LogWarning("No audit receipt for job {JobId} at '{Milestone}': the coordinator's chain head is malformed ({Problem})", jobId, milestone, e.Message);
            return null;
        }
        lock (_gate)
        {
            if (index < _lastIndex)
                _logger.LogWarning("The coordinator's audit log went back from record {Seen} to {Now} (job {JobId}, '{Milestone}'): it was truncated or rolled back; the receipt keeps the evidence",
                    _lastIndex, index, jobId, milestone);
            else if (index == _lastIndex && hash != _lastHash)
                _logger.LogWarning("The coordinator's audit log shows another hash for record {Index} than before (job {JobId}, '{Milestone}'): it was rewritten; the receipt keeps the evidence",
                    index, jobId, milestone);
            try
            {
                AuditReceiptFile.Append(Path, receipt);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning("Could not write the audit receipt of job {JobId} at '{Milestone}' to {Path}: {Problem}", jobId, milestone, Path, e.Message);
                return null;
            }
            Remember(index, hash);
        }
        return receipt;
    }

    private void Remember(long index, string hash)
    {
        if (index < _lastIndex)
            return;
        _lastIndex = index;
        _lastHash = hash;
    }
}
