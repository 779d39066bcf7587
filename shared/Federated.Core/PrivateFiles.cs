using System.Runtime.InteropServices;

namespace Federated.Core;

/// <summary>What a host does when one of its private folders is open to other users.</summary>
public enum FolderPermissionPolicy
{
    /// <summary>Refuse to start, naming the folder and its mode (the default).</summary>
    Refuse,

    /// <summary>Start, but log a warning naming the folder and its mode.</summary>
    Warn,
}

/// <summary>
/// Files and folders only their owner may read. Every host and tool sets the process file-creation mask to 077 at
/// start, so everything it (and SQLite, Serilog, TorchSharp) creates afterwards is 0600 (files) or 0700 (folders);
/// <see cref="CheckFolder"/> is the start-up check of the folders a host keeps its state in.
/// </summary>
public static partial class PrivateFiles
{
    /// <summary>Owner read, write and (for folders) search: 0700.</summary>
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Owner read and write: 0600.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Any group or other permission bit.</summary>
    public const UnixFileMode OpenToOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private const uint OwnerOnlyMask = 0b000_111_111; // 077

    /// <summary>
    /// Sets this process's file-creation mask to 077 (a no-op on Windows). Child processes inherit it. Returns the
    /// previous mask.
    /// </summary>
    public static uint RestrictProcessUmask()
    {
        if (OperatingSystem.IsWindows()) return 0;
        return SetUmask(OwnerOnlyMask);
    }

    /// <summary>Creates <paramref name="path"/> (and missing parents) as 0700; an existing folder is left as it is.</summary>
    public static DirectoryInfo CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows()) return Directory.CreateDirectory(path);
        return Directory.CreateDirectory(path, FolderMode);
    }

    /// <summary>
    /// The start-up check of a private folder: creates it 0700 when it is missing; when it exists and group or others
    /// may use it, refuses (throws <see cref="InvalidOperationException"/> naming the setting, the folder and its mode)
    /// or, by policy, returns the warning to log. Returns null when the folder is private.
    /// </summary>
    public static string? CheckFolder(string setting, string path, FolderPermissionPolicy policy)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path, setting);
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            CreateFolder(full);
            return null;
        }
        if (OperatingSystem.IsWindows()) return null;
        var mode = File.GetUnixFileMode(full);
        if ((mode & OpenToOthers) == 0) return null;
        var message = $"{setting} '{full}' is open to other users (mode {Octal(mode)}); it holds this host's private state. " +
            $"Run 'chmod 700 {full}'" + (policy == FolderPermissionPolicy.Refuse ? ", or start with Host:FolderPermissions=warn to accept it" : "");
        if (policy == FolderPermissionPolicy.Refuse) throw new InvalidOperationException(message);
        return message;
    }

    /// <summary>Writes <paramref name="text"/> to a file that only its owner may read (0600), whatever the process's mask.</summary>
    public static void WriteAllText(string path, string text)
    {
        var options = new FileStreamOptions { Mode = System.IO.FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode;
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(text);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, FileMode); // an existing file keeps its mode on create
    }

    /// <summary>A mode as four octal digits, for example 0755.</summary>
    public static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0xFFF, 8).PadLeft(3, '0');

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint SetUmask(uint mask);
}
