namespace Federated.Transport.Client;

/// <summary>
/// A job's durable progress at one party: the handler's own state together with the relay position it
/// corresponds to (the last message from the peer the handler had consumed). Both are saved in one atomic write,
/// so after a restart the handler resumes exactly where the relay resumes: nothing lost, nothing twice.
/// </summary>
public sealed record JobCheckpoint(ulong ConsumedFromPeer, byte[] HandlerState);

/// <summary>Stores <see cref="JobCheckpoint"/>s inside the party (its own state folder; never sent anywhere).</summary>
public interface IJobCheckpointStore
{
    JobCheckpoint? Load(string jobId);
    void Save(string jobId, JobCheckpoint checkpoint);
    void Delete(string jobId);
}

/// <summary>One file per job in a folder, written to a temporary file and renamed over the old one.</summary>
public sealed class FileJobCheckpointStore : IJobCheckpointStore
{
    private readonly string _directory;

    public FileJobCheckpointStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    private string PathOf(string jobId)
    {
        if (jobId.Length == 0 || jobId.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            throw new ArgumentException($"job id '{jobId}' is not a safe file name", nameof(jobId));
        return Path.Combine(_directory, jobId + ".checkpoint");
    }

    public JobCheckpoint? Load(string jobId)
    {
        var path = PathOf(jobId);
        if (!File.Exists(path))
            return null;
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 12)
            throw new InvalidDataException($"checkpoint {path} is truncated ({bytes.Length} bytes)");
        var consumed = BitConverter.ToUInt64(bytes, 0);
        var length = BitConverter.ToInt32(bytes, 8);
        if (length < 0 || length != bytes.Length - 12)
            throw new InvalidDataException($"checkpoint {path} announces {length} state bytes but holds {bytes.Length - 12}");
        return new JobCheckpoint(consumed, bytes[12..]);
    }

    public void Save(string jobId, JobCheckpoint checkpoint)
    {
        var path = PathOf(jobId);
        var bytes = new byte[12 + checkpoint.HandlerState.Length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), checkpoint.ConsumedFromPeer);
        BitConverter.TryWriteBytes(bytes.AsSpan(8, 4), checkpoint.HandlerState.Length);
        checkpoint.HandlerState.CopyTo(bytes, 12);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    public void Delete(string jobId)
    {
        var path = PathOf(jobId);
        if (File.Exists(path))
            File.Delete(path);
    }
}
