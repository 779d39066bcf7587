using System.Buffers.Binary;
using System.Text;

namespace Federated.Audio.Tests;

/// <summary>Builds WAV bytes, well formed or deliberately broken, for reader tests.</summary>
internal sealed class WavBuilder
{
    public ushort FormatCode { get; set; } = 1;
    public ushort Channels { get; set; } = 1;
    public uint SampleRate { get; set; } = 22050;
    public ushort BitsPerSample { get; set; } = 16;
    public ushort? BlockAlignOverride { get; set; }
    public uint? DataSizeOverride { get; set; }
    public bool Extensible { get; set; }
    public byte[] Data { get; set; } = [];
    public List<(string Id, byte[] Body)> ChunksBeforeFmt { get; } = [];

    public static byte[] Pcm16(short[] interleaved)
    {
        var b = new byte[interleaved.Length * 2];
        for (int i = 0; i < interleaved.Length; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(2 * i), interleaved[i]);
        }

        return b;
    }

    public byte[] Build()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(Encoding.ASCII.GetBytes("RIFF"));
        w.Write(0u); // patched below
        w.Write(Encoding.ASCII.GetBytes("WAVE"));
        foreach (var (id, body) in ChunksBeforeFmt)
        {
            w.Write(Encoding.ASCII.GetBytes(id));
            w.Write((uint)body.Length);
            w.Write(body);
            if (body.Length % 2 == 1)
            {
                w.Write((byte)0);
            }
        }

        ushort blockAlign = BlockAlignOverride ?? (ushort)(Channels * BitsPerSample / 8);
        w.Write(Encoding.ASCII.GetBytes("fmt "));
        w.Write(Extensible ? 40u : 16u);
        w.Write(Extensible ? (ushort)0xFFFE : FormatCode);
        w.Write(Channels);
        w.Write(SampleRate);
        w.Write(SampleRate * blockAlign);
        w.Write(blockAlign);
        w.Write(BitsPerSample);
        if (Extensible)
        {
            w.Write((ushort)22);
            w.Write(BitsPerSample);
            w.Write(0u);
            w.Write(FormatCode);
            w.Write(new byte[] { 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71 });
        }

        w.Write(Encoding.ASCII.GetBytes("data"));
        w.Write(DataSizeOverride ?? (uint)Data.Length);
        w.Write(Data);
        w.Flush();
        byte[] bytes = ms.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)(bytes.Length - 8));
        return bytes;
    }

    /// <summary>Writes a 16-bit PCM WAV of <paramref name="samples"/> (mono) to <paramref name="path"/>.</summary>
    public static void WriteMono16(string path, float[] samples, int sampleRate)
    {
        var pcm = new short[samples.Length];
        for (int i = 0; i < samples.Length; i++)
        {
            pcm[i] = (short)Math.Clamp(Math.Round(samples[i] * 32767.0), short.MinValue, short.MaxValue);
        }

        File.WriteAllBytes(path, new WavBuilder { SampleRate = (uint)sampleRate, Data = Pcm16(pcm) }.Build());
    }
}
