using System.Text;
using System.Text.Json;

namespace Federated.Security;

/// <summary>One receipt read from a receipts file, with where it was read.</summary>
/// <param name="File">The receipts file.</param>
/// <param name="Line">Its line in the file, from 1.</param>
/// <param name="Receipt">The receipt.</param>
public sealed record AuditReceiptEntry(string File, int Line, AuditReceipt Receipt)
{
    /// <summary><c>file:line</c>.</summary>
    public string Source => $"{File}:{Line}";
}

/// <summary>
/// A party's receipts file: one <see cref="AuditReceipt"/> per line as JSON, appended, owner-only (file mode 0600,
/// its folder 0700). It stays with the party; nothing sends it anywhere.
/// </summary>
public static class AuditReceiptFile
{
    /// <summary>The file's name in a party's state folder.</summary>
    public const string FileName = "audit-receipts.jsonl";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Appends <paramref name="receipt"/> as one line, creating the file (0600) and its folder (0700) when missing and
    /// narrowing both to the owner when they exist with wider modes. An unfinished last line (a write cut short) is
    /// dropped first. The line is flushed to disk before returning. Callers serialise their appends to one file.
    /// </summary>
    public static void Append(string path, AuditReceipt receipt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(receipt);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(folder);
        else
        {
            Directory.CreateDirectory(folder, OwnerOnlyFolder);
            if ((File.GetUnixFileMode(folder) & ~OwnerOnlyFolder) != 0)
                File.SetUnixFileMode(folder, OwnerOnlyFolder);
        }
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = OwnerOnlyFile;
        using var stream = new FileStream(full, options);
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(full) & ~OwnerOnlyFile) != 0)
            File.SetUnixFileMode(full, OwnerOnlyFile);
        DropUnfinishedLine(stream);
        stream.Seek(0, SeekOrigin.End);
        stream.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(receipt, Json) + "\n"));
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// A last line without its newline is an append that never finished (the party stopped while writing): it holds
    /// no complete receipt, so it is cut off rather than joined with the next receipt into one unreadable line.
    /// </summary>
    private static void DropUnfinishedLine(FileStream stream)
    {
        var length = stream.Length;
        if (length == 0)
            return;
        var one = new byte[1];
        stream.Seek(length - 1, SeekOrigin.Begin);
        if (stream.Read(one) == 1 && one[0] == (byte)'\n')
            return;
        var keep = length - 1;
        while (keep > 0)
        {
            stream.Seek(keep - 1, SeekOrigin.Begin);
            if (stream.Read(one) == 1 && one[0] == (byte)'\n')
                break;
            keep--;
        }
        stream.SetLength(keep);
    }

    /// <summary>Every receipt of one file, in order; empty lines are skipped.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A line is not a receipt (the message names the file and line).</exception>
    public static IReadOnlyList<AuditReceiptEntry> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"receipts file '{full}' does not exist", full);
        var entries = new List<AuditReceiptEntry>();
        var number = 0;
        foreach (var line in File.ReadLines(full))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            AuditReceipt? receipt;
            try { receipt = JsonSerializer.Deserialize<AuditReceipt>(line, Json); }
            catch (JsonException e)
            {
                throw new InvalidDataException($"receipts file '{full}' line {number} is not a receipt: {e.Message}", e);
            }
            if (receipt?.Format is null || receipt.Party is null || receipt.Hash is null)
                throw new InvalidDataException($"receipts file '{full}' line {number} is not a receipt (format, party or hash missing)");
            entries.Add(new AuditReceiptEntry(full, number, receipt));
        }
        return entries;
    }

    /// <summary>
    /// The receipts of files and folders, in the order given: a file is read whatever its name; a folder gives every
    /// <see cref="FileName"/> under it (subfolders included, in path order), so a run folder or the folders an auditor
    /// collected from the parties can be given as they are.
    /// </summary>
    /// <exception cref="FileNotFoundException">A path is neither a file nor a folder.</exception>
    public static IReadOnlyList<AuditReceiptEntry> Collect(IEnumerable<string> filesOrFolders)
    {
        ArgumentNullException.ThrowIfNull(filesOrFolders);
        var entries = new List<AuditReceiptEntry>();
        foreach (var path in filesOrFolders)
        {
            var full = Path.GetFullPath(path);
            if (File.Exists(full))
                entries.AddRange(Read(full));
            else if (Directory.Exists(full))
                foreach (var file in Directory.EnumerateFiles(full, FileName, SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                    entries.AddRange(Read(file));
            else
                throw new FileNotFoundException($"receipts path '{full}' is neither a file nor a folder", full);
        }
        return entries;
    }
}
