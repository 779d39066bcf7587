using Federated.Security;

namespace Federated.Audit;

/// <summary>The outcome of <see cref="AuditReceiptVerifier"/>.</summary>
/// <param name="IsValid">True when the chain verifies and every receipt is genuine and agrees with the log.</param>
/// <param name="Chain">The verification of the chain itself (<see cref="AuditVerifier"/>).</param>
/// <param name="ReceiptsChecked">Receipts found genuine and in agreement before the first that is not.</param>
/// <param name="ReceiptsByParty">Per party, its receipts found genuine and in agreement.</param>
/// <param name="FirstBadReceipt">The first receipt that is forged or disagrees with the log; null when none.</param>
/// <param name="RecordIndex">The record the first bad receipt is about (or the chain's first bad record); null when valid.</param>
/// <param name="Problem">What is wrong, naming the receipt and the record; null when valid.</param>
public sealed record AuditReceiptVerification(bool IsValid, AuditVerification Chain, int ReceiptsChecked,
    IReadOnlyDictionary<string, int> ReceiptsByParty, AuditReceiptEntry? FirstBadReceipt, long? RecordIndex, string? Problem);

/// <summary>
/// Checks the audit log against the chain-head receipts the parties signed. The chain is verified first
/// (<see cref="AuditVerifier"/>); then, in the order given, each receipt's signature and certificate, and that the
/// log has at least the receipt's number of records and that its record at the receipt's index has exactly the
/// receipt's hash. A coordinator that rewrote or dropped any record a receipt covers, even with a fresh anchor key,
/// cannot pass. Stops at the first problem and names the receipt (file and line) and the record.
/// </summary>
public static class AuditReceiptVerifier
{
    /// <summary>Verifies the log at <paramref name="sqlitePath"/> (anchor key next to it) against <paramref name="receipts"/>.</summary>
    /// <param name="sqlitePath">The audit database.</param>
    /// <param name="receipts">The receipts, for example from <see cref="AuditReceiptFile.Collect"/>.</param>
    /// <param name="validator">Accepts the parties' certificates (the federation's CA).</param>
    public static AuditReceiptVerification Verify(string sqlitePath, IReadOnlyList<AuditReceiptEntry> receipts, CertificateValidator validator)
        => Verify(sqlitePath, AuditVerifier.Verify(sqlitePath), receipts, validator);

    /// <summary>Checks <paramref name="receipts"/> against the log at <paramref name="sqlitePath"/> whose chain verification is <paramref name="chain"/>.</summary>
    public static AuditReceiptVerification Verify(string sqlitePath, AuditVerification chain, IReadOnlyList<AuditReceiptEntry> receipts,
        CertificateValidator validator)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sqlitePath);
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(receipts);
        ArgumentNullException.ThrowIfNull(validator);
        var byParty = new SortedDictionary<string, int>(StringComparer.Ordinal);
        if (!chain.IsValid)
            return new AuditReceiptVerification(false, chain, 0, byParty, null, chain.FirstBadIndex, $"the audit log itself does not verify: {chain.Problem}");

        // The records the chain verification covered: 1..RecordsChecked (a log still being written may have more).
        var verified = chain.RecordsChecked;
        var checkedCount = 0;
        foreach (var entry in receipts)
        {
            var receipt = entry.Receipt;
            var signature = AuditReceipts.Verify(receipt, validator);
            if (!signature.IsValid)
                return Bad($"receipt {entry.Source} ({receipt}) is not genuine: {signature.Problem}", receipt.Index);

            if (receipt.Index > verified)
                return Bad($"receipt {entry.Source} ({receipt}, signed {receipt.Time}) holds record {receipt.Index}, but the log has only {verified} records: " +
                    $"records {verified + 1}..{receipt.Index} were deleted (the log was truncated or rolled back)", receipt.Index);
            string stored;
            if (receipt.Index == 0)
                stored = AuditReceipts.GenesisHash;
            else
            {
                var records = AuditReader.Read(sqlitePath, receipt.Index, 1);
                if (records.Count != 1 || records[0].Index != receipt.Index)
                    return Bad($"receipt {entry.Source} ({receipt}) holds record {receipt.Index}, which the log does not have", receipt.Index);
                stored = records[0].Hash;
            }
            if (stored != receipt.Hash)
                return Bad($"receipt {entry.Source} ({receipt}, signed {receipt.Time}) disagrees with the log at record {receipt.Index}: " +
                    $"the party was shown hash {receipt.Hash[..16]}…, the log has {stored[..16]}…, so records 1..{receipt.Index} were rewritten after the party saw them",
                    receipt.Index);
            checkedCount++;
            byParty[receipt.Party] = byParty.GetValueOrDefault(receipt.Party) + 1;
        }
        return new AuditReceiptVerification(true, chain, checkedCount, byParty, null, null, null);

        AuditReceiptVerification Bad(string problem, long index)
            => new(false, chain, checkedCount, byParty, receipts[checkedCount], index, problem);
    }
}
