using System.Text.Json;

namespace Federated.Core;

/// <summary>
/// What a host writes once it listens (Host:ReadyFile): its process id, the address it actually listens on (so a
/// launcher can ask for port 0) and its identity. The contract between the hosts and whatever starts them.
/// </summary>
public sealed record HostReadyFile(int ProcessId, string Address, string PartyId, string Role)
{
    /// <summary>Writes atomically (temporary file, then rename), so a reader never sees half a file.</summary>
    public void Write(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = full + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this));
        File.Move(temporary, full, overwrite: true);
    }

    public static async Task<HostReadyFile> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize<HostReadyFile>(text) ?? throw new InvalidDataException($"ready file {path} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"ready file {path} is not valid JSON: {e.Message}", e);
        }
    }
}
