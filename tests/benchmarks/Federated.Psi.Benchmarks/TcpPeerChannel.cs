using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Federated.Core;

namespace Federated.Psi.Benchmarks;

/// <summary>
/// A plain loopback TCP transport for running the two PSI parties in separate processes (benchmark only; the
/// production transport is the coordinator relay). Frame: u16 type length, type (UTF-8), u32 payload length, payload.
/// </summary>
internal sealed class TcpPeerChannel : IPeerChannel, IDisposable
{
    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    private TcpPeerChannel(TcpClient client)
    {
        _client = client;
        _client.NoDelay = true;
        _stream = client.GetStream();
    }

    public static async Task<TcpPeerChannel> AcceptAsync(TcpListener listener, CancellationToken ct) => new(await listener.AcceptTcpClientAsync(ct));

    public static async Task<TcpPeerChannel> ConnectAsync(int port, CancellationToken ct)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, ct);
        return new TcpPeerChannel(client);
    }

    public async ValueTask SendAsync(PeerMessage message, CancellationToken cancellationToken)
    {
        var type = Encoding.UTF8.GetBytes(message.MessageType);
        var header = new byte[2 + type.Length + 4];
        BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)type.Length);
        type.CopyTo(header, 2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(2 + type.Length), (uint)message.Payload.Length);
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _stream.WriteAsync(header, cancellationToken);
            await _stream.WriteAsync(message.Payload, cancellationToken);
        }
        finally { _sendLock.Release(); }
    }

    public async ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        var len2 = new byte[2];
        await _stream.ReadExactlyAsync(len2, cancellationToken);
        var type = new byte[BinaryPrimitives.ReadUInt16LittleEndian(len2)];
        await _stream.ReadExactlyAsync(type, cancellationToken);
        var len4 = new byte[4];
        await _stream.ReadExactlyAsync(len4, cancellationToken);
        var payload = new byte[BinaryPrimitives.ReadUInt32LittleEndian(len4)];
        await _stream.ReadExactlyAsync(payload, cancellationToken);
        return new PeerMessage(Encoding.UTF8.GetString(type), payload);
    }

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
        _sendLock.Dispose();
    }
}
