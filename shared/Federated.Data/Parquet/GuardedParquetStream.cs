namespace Federated.Data.Parquet;

/// <summary>
/// The file stream the Parquet library reads pages through. The library reads each page header with a varint reader
/// that takes end of file for a byte with the continuation bit set, and trusts a page's declared size to find the
/// next one; a corrupt page header therefore loops forever, either at the end of the file or over the same bytes. This
/// stream refuses a single-byte read at the end of the file, and a total read beyond a fixed multiple of the file's
/// length, with <see cref="InvalidDataException"/>, so either loop ends as a refusal of the file.
/// </summary>
internal sealed class GuardedParquetStream(FileStream inner) : Stream
{
    // A row source reads every byte about once, the footer twice; anything past this is a loop.
    private const long ReadFactor = 8;
    private const long ReadSlack = 16 << 20;
    private readonly long _budget = inner.Length * ReadFactor + ReadSlack;
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int ReadByte()
    {
        var b = inner.ReadByte();
        if (b < 0)
            throw new InvalidDataException($"a structure runs past the end of the file ({inner.Length} bytes)");
        Count(1);
        return b;
    }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void Flush() { }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private int Count(int bytes)
    {
        _read += bytes;
        if (_read > _budget)
            throw new InvalidDataException(
                $"reading has taken {_read:N0} bytes from a file of {inner.Length:N0}: its page structure loops");
        return bytes;
    }
}
