using System.Buffers.Binary;

namespace Federated.Audio;

/// <summary>
/// Reads RIFF/WAVE files into <see cref="MonoAudio"/>: integer PCM of 8, 16, 24 or 32 bits and IEEE float of 32 or
/// 64 bits (plain or WAVE_FORMAT_EXTENSIBLE), any channel count (averaged to mono), sample rates 8 kHz to 192 kHz.
/// Reading stops at the data chunk, so chunks after it are never needed. Anything malformed is rejected with an
/// <see cref="AudioFormatException"/> naming the file, byte offset and chunk.
/// </summary>
public static class WavReader
{
    public const int MinSampleRate = 8_000;
    public const int MaxSampleRate = 192_000;

    private const ushort FormatPcm = 0x0001;
    private const ushort FormatIeeeFloat = 0x0003;
    private const ushort FormatExtensible = 0xFFFE;
    private const int ReadBlockBytes = 1 << 16;

    public static MonoAudio Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16,
            FileOptions.SequentialScan);
        return Read(stream, path);
    }

    /// <summary>Reads from any stream (need not be seekable); <paramref name="sourceName"/> is used in errors.</summary>
    public static MonoAudio Read(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        var cursor = new Cursor(stream, sourceName);

        Span<byte> header = stackalloc byte[12];
        int got = cursor.ReadUpTo(header);
        if (got < 12)
        {
            throw cursor.Error($"not a RIFF/WAVE file: only {got} bytes, a WAVE header needs 12", 0);
        }

        string riff = FourCc(header[..4]);
        if (riff == "RF64")
        {
            throw cursor.Error("RF64 (64-bit RIFF) WAV files are not supported; convert with ffmpeg", 0,
                unsupported: true);
        }

        if (riff != "RIFF")
        {
            throw cursor.Error($"not a RIFF file: expected 'RIFF' at the start, found {Describe(header[..4])}", 0);
        }

        string wave = FourCc(header[8..12]);
        if (wave != "WAVE")
        {
            throw cursor.Error($"not a WAVE file: expected form type 'WAVE', found {Describe(header[8..12])}", 8);
        }

        WavFormat? format = null;
        Span<byte> chunkHeader = stackalloc byte[8];
        while (true)
        {
            long chunkOffset = cursor.Position;
            got = cursor.ReadUpTo(chunkHeader);
            if (got == 0)
            {
                throw cursor.Error(format is null
                    ? "no 'fmt ' chunk and no 'data' chunk before the end of the file"
                    : "no 'data' chunk before the end of the file", chunkOffset);
            }

            if (got < 8)
            {
                throw cursor.Error($"truncated chunk header: expected 8 bytes, found {got}", chunkOffset);
            }

            string id = FourCc(chunkHeader[..4]);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(chunkHeader[4..]);
            switch (id)
            {
                case "fmt ":
                    if (format is not null)
                    {
                        throw cursor.Error("a second 'fmt ' chunk", chunkOffset);
                    }

                    format = ReadFormat(cursor, size, chunkOffset);
                    break;
                case "data":
                    if (format is null)
                    {
                        throw cursor.Error("'data' chunk comes before any 'fmt ' chunk", chunkOffset);
                    }

                    return ReadData(cursor, format, size, chunkOffset);
                default:
                    cursor.Skip(size + (size & 1), id, chunkOffset);
                    break;
            }
        }
    }

    private static WavFormat ReadFormat(Cursor cursor, uint size, long chunkOffset)
    {
        if (size < 16)
        {
            throw cursor.Error($"'fmt ' chunk too short: expected at least 16 bytes, found size {size}", chunkOffset);
        }

        if (size > 1024)
        {
            throw cursor.Error($"'fmt ' chunk implausibly large: size {size} bytes", chunkOffset);
        }

        var body = new byte[size + (size & 1)];
        cursor.ReadExactly(body, "fmt ", chunkOffset);
        long bodyOffset = chunkOffset + 8;

        ushort code = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(0));
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(2));
        uint sampleRate = BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(4));
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(12));
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(14));

        ushort effectiveCode = code;
        if (code == FormatExtensible)
        {
            // WAVE_FORMAT_EXTENSIBLE: cbSize(2) validBits(2) channelMask(4) then the sub-format GUID whose first
            // two bytes are the real format code.
            if (size < 40)
            {
                throw cursor.Error($"WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk too short: expected 40 bytes, found {size}",
                    chunkOffset);
            }

            effectiveCode = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(24));
        }

        if (effectiveCode != FormatPcm && effectiveCode != FormatIeeeFloat)
        {
            throw cursor.Error(
                $"unsupported WAV format code {effectiveCode} (0x{effectiveCode:X4}){FormatName(effectiveCode)}: " +
                "only 1 (integer PCM) and 3 (IEEE float) are decoded; convert with ffmpeg", bodyOffset,
                unsupported: true);
        }

        if (channels == 0)
        {
            throw cursor.Error("'fmt ' chunk declares 0 channels", bodyOffset + 2);
        }

        if (sampleRate < MinSampleRate || sampleRate > MaxSampleRate)
        {
            throw cursor.Error(
                $"unsupported sample rate {sampleRate} Hz: expected {MinSampleRate} to {MaxSampleRate} Hz",
                bodyOffset + 4);
        }

        bool bitsOk = effectiveCode == FormatPcm ? bits is 8 or 16 or 24 or 32 : bits is 32 or 64;
        if (!bitsOk)
        {
            string expected = effectiveCode == FormatPcm ? "8, 16, 24 or 32" : "32 or 64";
            throw cursor.Error(
                $"unsupported bits per sample {bits} for {(effectiveCode == FormatPcm ? "PCM" : "IEEE float")}: " +
                $"expected {expected}", bodyOffset + 14, unsupported: true);
        }

        int expectedAlign = channels * (bits / 8);
        if (blockAlign != expectedAlign)
        {
            throw cursor.Error(
                $"inconsistent block align: {channels} channels x {bits} bits needs {expectedAlign} bytes per frame, " +
                $"header says {blockAlign}", bodyOffset + 12);
        }

        return new WavFormat(effectiveCode == FormatIeeeFloat, channels, (int)sampleRate, bits / 8, blockAlign);
    }

    private const int InitialFrames = 1 << 16;

    private static MonoAudio ReadData(Cursor cursor, WavFormat format, uint size, long chunkOffset)
    {
        if (size == 0)
        {
            throw cursor.Error("'data' chunk is empty: the file contains no audio samples", chunkOffset);
        }

        if (size % (uint)format.BlockAlign != 0)
        {
            throw cursor.Error(
                $"'data' chunk size {size} is not a whole number of {format.BlockAlign}-byte sample frames",
                chunkOffset);
        }

        long frames = size / format.BlockAlign;
        if (frames > Array.MaxLength)
        {
            throw cursor.Error($"'data' chunk holds {frames} sample frames, more than one array can hold",
                chunkOffset);
        }

        // The declared size is not trusted for memory: the samples grow as the bytes arrive, so a short file that
        // declares gigabytes is refused as truncated without allocating them.
        var samples = new float[(int)Math.Min(frames, InitialFrames)];
        int framesPerBlock = Math.Max(1, ReadBlockBytes / format.BlockAlign);
        var buffer = new byte[framesPerBlock * format.BlockAlign];
        long done = 0;
        while (done < frames)
        {
            int want = (int)Math.Min(framesPerBlock, frames - done);
            if (done + want > samples.Length)
                Array.Resize(ref samples, (int)Math.Min(frames, Math.Max(2L * samples.Length, done + want)));
            int bytes = want * format.BlockAlign;
            int got = cursor.ReadUpTo(buffer.AsSpan(0, bytes));
            if (got < bytes)
            {
                long have = done * format.BlockAlign + got;
                throw cursor.Error(
                    $"truncated 'data' chunk: header declares {size} bytes, file ends after {have}", chunkOffset);
            }

            MixDown(buffer.AsSpan(0, bytes), format, samples.AsSpan((int)done, want));
            done += want;
        }

        return new MonoAudio(samples, format.SampleRate);
    }

    private static void MixDown(ReadOnlySpan<byte> raw, WavFormat format, Span<float> mono)
    {
        int channels = format.Channels;
        int width = format.BytesPerSample;
        double scale = 1.0 / channels;
        for (int f = 0; f < mono.Length; f++)
        {
            double sum = 0;
            int frameStart = f * format.BlockAlign;
            for (int c = 0; c < channels; c++)
            {
                sum += Decode(raw.Slice(frameStart + c * width, width), format.IsFloat);
            }

            mono[f] = (float)(sum * scale);
        }
    }

    private static double Decode(ReadOnlySpan<byte> s, bool isFloat)
    {
        if (isFloat)
        {
            double v = s.Length == 4
                ? BinaryPrimitives.ReadSingleLittleEndian(s)
                : BinaryPrimitives.ReadDoubleLittleEndian(s);
            // Non-finite floats would poison every statistic; treat them as silence.
            return double.IsFinite(v) ? v : 0.0;
        }

        return s.Length switch
        {
            1 => (s[0] - 128) / 128.0, // 8-bit PCM is unsigned
            2 => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768.0,
            3 => ((s[0] | (s[1] << 8) | ((sbyte)s[2] << 16))) / 8388608.0,
            _ => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0,
        };
    }

    private static string FourCc(ReadOnlySpan<byte> b)
    {
        Span<char> c = stackalloc char[4];
        for (int i = 0; i < 4; i++)
        {
            c[i] = (char)b[i];
        }

        return new string(c);
    }

    private static string Describe(ReadOnlySpan<byte> b)
    {
        foreach (byte x in b)
        {
            if (x < 0x20 || x > 0x7E)
            {
                return "bytes " + Convert.ToHexString(b);
            }
        }

        return $"'{FourCc(b)}'";
    }

    private static string FormatName(ushort code) => code switch
    {
        0x0002 => " (Microsoft ADPCM)",
        0x0006 => " (A-law)",
        0x0007 => " (mu-law)",
        0x0011 => " (IMA ADPCM)",
        0x0055 => " (MPEG layer 3)",
        _ => string.Empty,
    };

    private sealed record WavFormat(bool IsFloat, int Channels, int SampleRate, int BytesPerSample, int BlockAlign);

    /// <summary>A forward-only reader that knows its byte position, for precise error messages.</summary>
    private sealed class Cursor(Stream stream, string source)
    {
        public long Position { get; private set; }

        public int ReadUpTo(Span<byte> buffer)
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = stream.Read(buffer[total..]);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            Position += total;
            return total;
        }

        public void ReadExactly(Span<byte> buffer, string chunk, long chunkOffset)
        {
            int got = ReadUpTo(buffer);
            if (got < buffer.Length)
            {
                throw Error($"truncated '{chunk}' chunk: expected {buffer.Length} bytes, file ends after {got}",
                    chunkOffset);
            }
        }

        public void Skip(long count, string chunk, long chunkOffset)
        {
            if (stream.CanSeek)
            {
                long remaining = stream.Length - stream.Position;
                if (remaining < count)
                {
                    throw Error($"truncated '{chunk}' chunk: declares {count} bytes, only {remaining} remain",
                        chunkOffset);
                }

                stream.Seek(count, SeekOrigin.Current);
                Position += count;
                return;
            }

            Span<byte> scratch = stackalloc byte[4096];
            long left = count;
            while (left > 0)
            {
                int got = ReadUpTo(scratch[..(int)Math.Min(scratch.Length, left)]);
                if (got == 0)
                {
                    throw Error($"truncated '{chunk}' chunk: declares {count} bytes, only {count - left} remain",
                        chunkOffset);
                }

                left -= got;
            }
        }

        public AudioFormatException Error(string reason, long offset, bool unsupported = false) =>
            new(source, reason, offset, unsupported);
    }
}
