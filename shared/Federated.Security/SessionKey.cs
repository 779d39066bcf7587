using System.Buffers.Binary;
using NSec.Cryptography;

using Federated.Core.Jobs;

namespace Federated.Security;

/// <summary>
/// The per-job session between two parties: one ChaCha20-Poly1305 key per direction (this party to the peer, and
/// back), derived by <see cref="SessionHandshake"/>. The 12-byte nonce is a direction tag plus the header's sequence
/// number, and the whole <see cref="SealedHeader"/> is the associated data, so the relay can read headers but
/// cannot alter any field, and a nonce is never reused under one key as long as each sequence is sealed once.
/// </summary>
/// <remarks>
/// Sequence rules: <see cref="Seal(SealedHeader, ReadOnlySpan{byte})"/> accepts only sequences above the last one it sealed (a re-send after a
/// reconnect must send the stored sealed bytes again, never seal again); <see cref="Open(SealedHeader, ReadOnlySpan{byte})"/> accepts only sequences
/// above the last one it opened (replays and reordering fail), so drop duplicates by
/// <see cref="LastOpenedSequence"/> before opening. Thread-safe.
/// </remarks>
public sealed class SessionKey : IDisposable
{
    /// <summary>The AEAD used for payloads.</summary>
    internal static readonly AeadAlgorithm Algorithm = AeadAlgorithm.ChaCha20Poly1305;

    /// <summary>Format byte at the start of every sealed payload.</summary>
    public const byte FormatVersion = 1;

    /// <summary>Bytes a sealed payload has beyond its plaintext: format byte and 16-byte tag.</summary>
    public const int Overhead = 1 + 16;

    private readonly Key _send;
    private readonly Key _receive;
    private readonly uint _sendDirection;
    private readonly uint _receiveDirection;
    private readonly Lock _sendLock = new();
    private readonly Lock _receiveLock = new();
    private ulong? _lastSealed;
    private ulong? _lastOpened;
    private bool _disposed;

    internal SessionKey(string jobId, string ownPartyId, string peerPartyId, Key send, Key receive, bool ownIdSortsFirst,
        string peerCertificateFingerprint)
    {
        Attempt = new AttemptId(jobId);
        OwnPartyId = ownPartyId;
        PeerPartyId = peerPartyId;
        _send = send;
        _receive = receive;
        // Keys already differ per direction; the tag keeps nonces distinct even if they did not.
        _sendDirection = ownIdSortsFirst ? 1u : 2u;
        _receiveDirection = ownIdSortsFirst ? 2u : 1u;
        PeerCertificateFingerprint = peerCertificateFingerprint;
    }

    /// <summary>The job this session belongs to.</summary>
    public AttemptId Attempt { get; }

    /// <summary>This party's id (the sender of what <see cref="Seal(SealedHeader, ReadOnlySpan{byte})"/> produces).</summary>
    public string OwnPartyId { get; }

    /// <summary>The peer's id (the sender of what <see cref="Open(SealedHeader, ReadOnlySpan{byte})"/> accepts).</summary>
    public string PeerPartyId { get; }

    /// <summary>SHA-256 fingerprint of the certificate the peer signed its offer with (compare with the registry).</summary>
    public string PeerCertificateFingerprint { get; }

    /// <summary>The highest sequence sealed so far, or null before the first.</summary>
    public ulong? LastSealedSequence { get { lock (_sendLock) return _lastSealed; } }

    /// <summary>The highest sequence opened so far, or null before the first.</summary>
    public ulong? LastOpenedSequence { get { lock (_receiveLock) return _lastOpened; } }

    /// <summary>
    /// Encrypts and authenticates <paramref name="plaintext"/> with <paramref name="header"/> as associated data.
    /// The header must name this job, this party as sender and the peer as receiver, and a sequence above every
    /// sequence sealed before.
    /// </summary>
    /// <returns>Format byte, ciphertext and tag (<see cref="Overhead"/> bytes more than the plaintext).</returns>
    /// <exception cref="SealingException">Header names another job or pair, or the sequence was already used.</exception>
    public byte[] Seal(SealedHeader header, ReadOnlySpan<byte> plaintext)
    {
        var sealedPayload = new byte[plaintext.Length + Overhead];
        Seal(header, plaintext, sealedPayload);
        return sealedPayload;
    }

    /// <summary>
    /// <see cref="Seal(SealedHeader, ReadOnlySpan{byte})"/> into a caller's buffer (for pooled buffers with large
    /// payloads). <paramref name="destination"/> needs at least plaintext length + <see cref="Overhead"/> bytes
    /// and must not overlap <paramref name="plaintext"/>.
    /// </summary>
    /// <returns>The number of bytes written.</returns>
    public int Seal(SealedHeader header, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(header);
        CheckHeader(header, OwnPartyId, PeerPartyId, "seal");
        var length = plaintext.Length + Overhead;
        if (destination.Length < length)
            throw new ArgumentException($"destination holds {destination.Length} bytes; sealing needs {length}", nameof(destination));
        lock (_sendLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_lastSealed is { } last && header.Sequence <= last)
                throw new SealingException(
                    $"cannot seal sequence {header.Sequence}: sequence {last} was already sealed and a nonce must never be reused; re-send the stored sealed bytes instead of sealing again");
            _lastSealed = header.Sequence;
        }

        destination[0] = FormatVersion;
        Span<byte> nonce = stackalloc byte[12];
        MakeNonce(nonce, _sendDirection, header.Sequence);
        Algorithm.Encrypt(_send, nonce, header.ToAssociatedData(), plaintext, destination.Slice(1, length - 1));
        return length;
    }

    /// <summary>
    /// Checks and decrypts a payload the peer sealed under <paramref name="header"/>. Fails if any byte of the
    /// payload or any header field differs from what was sealed, or if the sequence is not above the last opened.
    /// </summary>
    /// <exception cref="SealingException">The payload does not authenticate, or the header or sequence is wrong.</exception>
    public byte[] Open(SealedHeader header, ReadOnlySpan<byte> sealedPayload)
    {
        var plaintext = new byte[Math.Max(0, sealedPayload.Length - Overhead)];
        Open(header, sealedPayload, plaintext);
        return plaintext;
    }

    /// <summary>
    /// <see cref="Open(SealedHeader, ReadOnlySpan{byte})"/> into a caller's buffer of at least sealed length −
    /// <see cref="Overhead"/> bytes. If the payload does not authenticate, no plaintext is written (the
    /// destination may be wiped).
    /// </summary>
    /// <returns>The number of plaintext bytes written.</returns>
    public int Open(SealedHeader header, ReadOnlySpan<byte> sealedPayload, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(header);
        CheckHeader(header, PeerPartyId, OwnPartyId, "open");
        if (sealedPayload.Length < Overhead)
            throw new SealingException(
                $"sealed payload of {header.MessageType} #{header.Sequence} is {sealedPayload.Length} bytes; at least {Overhead} expected");
        if (sealedPayload[0] != FormatVersion)
            throw new SealingException(
                $"sealed payload of {header.MessageType} #{header.Sequence} has format {sealedPayload[0]}, expected {FormatVersion}");
        var length = sealedPayload.Length - Overhead;
        if (destination.Length < length)
            throw new ArgumentException($"destination holds {destination.Length} bytes; opening needs {length}", nameof(destination));
        lock (_receiveLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_lastOpened is { } last && header.Sequence <= last)
                throw new SealingException(
                    $"sequence {header.Sequence} of {header.MessageType} from '{header.Sender}' is not above the last opened sequence {last} (replayed or reordered)");
        }

        Span<byte> nonce = stackalloc byte[12];
        MakeNonce(nonce, _receiveDirection, header.Sequence);
        var plaintext = destination[..length];
        if (!Algorithm.Decrypt(_receive, nonce, header.ToAssociatedData(), sealedPayload[1..], plaintext))
            throw new SealingException(
                $"authentication failed for {header.MessageType} #{header.Sequence} from '{header.Sender}': the payload or a header field (job, type, sender, receiver, sequence, step) was altered, or it was sealed under another key");

        lock (_receiveLock)
        {
            if (_lastOpened is { } last && header.Sequence <= last)
            {
                plaintext.Clear();
                throw new SealingException(
                    $"sequence {header.Sequence} of {header.MessageType} from '{header.Sender}' was opened concurrently (replayed)");
            }
            _lastOpened = header.Sequence;
        }
        return length;
    }

    /// <summary>Wipes both directional keys.</summary>
    public void Dispose()
    {
        lock (_sendLock)
        lock (_receiveLock)
        {
            if (_disposed) return;
            _disposed = true;
            _send.Dispose();
            _receive.Dispose();
        }
    }

    private void CheckHeader(SealedHeader header, string sender, string receiver, string operation)
    {
        if (header.Attempt != Attempt)
            throw new SealingException($"cannot {operation}: header is for job '{header.Attempt}' but this session is for job '{Attempt}'");
        if (header.Sender != sender || header.Receiver != receiver)
            throw new SealingException(
                $"cannot {operation}: header is from '{header.Sender}' to '{header.Receiver}' but this session {operation}s from '{sender}' to '{receiver}'");
        ArgumentNullException.ThrowIfNull(header.MessageType, nameof(header.MessageType));
    }

    private static void MakeNonce(Span<byte> nonce, uint direction, ulong sequence)
    {
        BinaryPrimitives.WriteUInt32BigEndian(nonce, direction);
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], sequence);
    }
}
