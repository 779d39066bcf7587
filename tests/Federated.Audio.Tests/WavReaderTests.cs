using System.Buffers.Binary;
using System.Text;

namespace Federated.Audio.Tests;

[Trait("Category", "Unit")]
public class WavReaderTests
{
    private static MonoAudio Read(byte[] bytes) => WavReader.Read(new MemoryStream(bytes), "test.wav");

    private static AudioFormatException Rejects(byte[] bytes) =>
        Assert.Throws<AudioFormatException>(() => Read(bytes));

    [Fact]
    public void Reads_16_bit_mono_samples_and_rate()
    {
        var bytes = new WavBuilder { SampleRate = 16000, Data = WavBuilder.Pcm16([0, 16384, -32768, 32767]) }.Build();
        MonoAudio audio = Read(bytes);
        Assert.Equal(16000, audio.SampleRate);
        Assert.Equal([0f, 0.5f, -1f, 32767f / 32768f], audio.Samples);
    }

    [Fact]
    public void Stereo_is_mixed_to_mono_by_averaging_channels()
    {
        // Frames: (L, R) = (16384, 8192) -> 0.375; (16384, -16384) -> 0; (-32768, 0) -> -0.5.
        var bytes = new WavBuilder
        {
            Channels = 2, SampleRate = 44100, Data = WavBuilder.Pcm16([16384, 8192, 16384, -16384, -32768, 0]),
        }.Build();
        MonoAudio audio = Read(bytes);
        Assert.Equal(44100, audio.SampleRate);
        Assert.Equal([0.375f, 0f, -0.5f], audio.Samples);
    }

    [Fact]
    public void Reads_24_bit_pcm_including_negative_values()
    {
        // 0x400000 = 0.5 and 0xC00000 = -0.5 in 24-bit two's complement.
        byte[] data = [0x00, 0x00, 0x40, 0x00, 0x00, 0xC0];
        var bytes = new WavBuilder { BitsPerSample = 24, Data = data }.Build();
        Assert.Equal([0.5f, -0.5f], Read(bytes).Samples);
    }

    [Fact]
    public void Reads_8_bit_unsigned_pcm()
    {
        var bytes = new WavBuilder { BitsPerSample = 8, Data = [128, 192, 0] }.Build();
        Assert.Equal([0f, 0.5f, -1f], Read(bytes).Samples);
    }

    [Fact]
    public void Reads_ieee_float_32_and_extensible_format()
    {
        var data = new byte[8];
        BinaryPrimitives.WriteSingleLittleEndian(data, 0.25f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -0.75f);
        var plain = new WavBuilder { FormatCode = 3, BitsPerSample = 32, Data = data }.Build();
        var extensible = new WavBuilder { FormatCode = 3, BitsPerSample = 32, Data = data, Extensible = true }.Build();
        Assert.Equal([0.25f, -0.75f], Read(plain).Samples);
        Assert.Equal([0.25f, -0.75f], Read(extensible).Samples);
    }

    [Fact]
    public void Non_finite_float_samples_are_read_as_silence()
    {
        var data = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(data, float.NaN);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), float.PositiveInfinity);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(8), 0.5f);
        var bytes = new WavBuilder { FormatCode = 3, BitsPerSample = 32, Data = data }.Build();
        Assert.Equal([0f, 0f, 0.5f], Read(bytes).Samples);
    }

    [Fact]
    public void Skips_unknown_chunks_before_fmt_including_odd_sized_ones()
    {
        var builder = new WavBuilder { Data = WavBuilder.Pcm16([100, -100]) };
        builder.ChunksBeforeFmt.Add(("LIST", Encoding.ASCII.GetBytes("INFOabc")));
        Assert.Equal(2, Read(builder.Build()).Samples.Length);
    }

    [Fact]
    public void Rejects_non_riff_file_naming_what_was_found()
    {
        var e = Rejects(Encoding.ASCII.GetBytes("OggS\0\0\0\0WAVEfmt "));
        Assert.Equal(0, e.Offset);
        Assert.Contains("expected 'RIFF'", e.Message);
        Assert.Contains("'OggS'", e.Message);
        Assert.StartsWith("test.wav:", e.Message);
    }

    [Fact]
    public void Rejects_file_shorter_than_header()
    {
        var e = Rejects([0x52, 0x49]);
        Assert.Contains("only 2 bytes", e.Message);
    }

    [Fact]
    public void Rejects_riff_that_is_not_wave()
    {
        byte[] bytes = new WavBuilder { Data = WavBuilder.Pcm16([1]) }.Build();
        Encoding.ASCII.GetBytes("AVI ").CopyTo(bytes, 8);
        var e = Rejects(bytes);
        Assert.Equal(8, e.Offset);
        Assert.Contains("expected form type 'WAVE', found 'AVI '", e.Message);
    }

    [Fact]
    public void Rejects_unsupported_format_code_and_marks_it_convertible()
    {
        var e = Rejects(new WavBuilder { FormatCode = 2, Data = WavBuilder.Pcm16([1, 2]) }.Build());
        Assert.True(e.IsUnsupportedEncoding);
        Assert.Contains("unsupported WAV format code 2 (0x0002) (Microsoft ADPCM)", e.Message);
        Assert.Equal(20, e.Offset); // the fmt chunk body starts after RIFF header (12) + chunk header (8)
    }

    [Fact]
    public void Rejects_zero_channels()
    {
        var e = Rejects(new WavBuilder { Channels = 0, BlockAlignOverride = 2, Data = WavBuilder.Pcm16([1]) }.Build());
        Assert.Contains("declares 0 channels", e.Message);
        Assert.Equal(22, e.Offset);
    }

    [Fact]
    public void Rejects_sample_rate_outside_supported_range()
    {
        var e = Rejects(new WavBuilder { SampleRate = 4000, Data = WavBuilder.Pcm16([1]) }.Build());
        Assert.Contains("unsupported sample rate 4000 Hz: expected 8000 to 192000 Hz", e.Message);
    }

    [Fact]
    public void Rejects_unsupported_bit_depth()
    {
        var e = Rejects(new WavBuilder { BitsPerSample = 12, BlockAlignOverride = 2, Data = [1, 2] }.Build());
        Assert.Contains("unsupported bits per sample 12 for PCM", e.Message);
    }

    [Fact]
    public void Rejects_inconsistent_block_align()
    {
        var e = Rejects(new WavBuilder { Channels = 2, BlockAlignOverride = 2, Data = [1, 2, 3, 4] }.Build());
        Assert.Contains("needs 4 bytes per frame, header says 2", e.Message);
    }

    [Fact]
    public void Rejects_truncated_data_chunk_with_declared_and_actual_sizes()
    {
        byte[] full = new WavBuilder { Data = WavBuilder.Pcm16([1, 2, 3, 4]), DataSizeOverride = 100 }.Build();
        var e = Rejects(full);
        Assert.Contains("truncated 'data' chunk: header declares 100 bytes, file ends after 8", e.Message);
        Assert.Equal(36, e.Offset); // data chunk header after RIFF (12) + fmt chunk (24)
    }

    [Fact]
    public void Rejects_truncated_chunk_header()
    {
        byte[] good = new WavBuilder { Data = WavBuilder.Pcm16([1]) }.Build();
        byte[] cut = good[..40]; // RIFF header + fmt chunk (36 bytes) + 4 bytes of the data chunk header
        var e = Rejects(cut);
        Assert.Contains("truncated chunk header: expected 8 bytes, found 4", e.Message);
        Assert.Equal(36, e.Offset);
    }

    [Fact]
    public void Rejects_unknown_chunk_running_past_end_of_file()
    {
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.ASCII.GetBytes("RIFF"));
        bytes.AddRange(BitConverter.GetBytes(100u));
        bytes.AddRange(Encoding.ASCII.GetBytes("WAVE"));
        bytes.AddRange(Encoding.ASCII.GetBytes("junk"));
        bytes.AddRange(BitConverter.GetBytes(1000u));
        bytes.AddRange(new byte[10]);
        var e = Rejects([.. bytes]);
        Assert.Contains("truncated 'junk' chunk: declares 1000 bytes, only 10 remain", e.Message);
    }

    [Fact]
    public void Rejects_data_before_fmt_and_missing_data()
    {
        var dataFirst = new List<byte>();
        dataFirst.AddRange(Encoding.ASCII.GetBytes("RIFF"));
        dataFirst.AddRange(BitConverter.GetBytes(14u));
        dataFirst.AddRange(Encoding.ASCII.GetBytes("WAVEdata"));
        dataFirst.AddRange(BitConverter.GetBytes(2u));
        dataFirst.AddRange(new byte[2]);
        Assert.Contains("'data' chunk comes before any 'fmt ' chunk", Rejects([.. dataFirst]).Message);

        byte[] good = new WavBuilder { Data = WavBuilder.Pcm16([1]) }.Build();
        Assert.Contains("no 'data' chunk before the end of the file", Rejects(good[..36]).Message);
    }

    [Fact]
    public void Rejects_empty_and_ragged_data_chunks()
    {
        Assert.Contains("contains no audio samples", Rejects(new WavBuilder { Data = [] }.Build()).Message);
        var ragged = new WavBuilder { Channels = 2, Data = [1, 2, 3, 4, 5, 6] }.Build();
        Assert.Contains("size 6 is not a whole number of 4-byte sample frames", Rejects(ragged).Message);
    }

    [Fact]
    public void Rejects_fmt_chunk_that_is_too_short()
    {
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.ASCII.GetBytes("RIFF"));
        bytes.AddRange(BitConverter.GetBytes(20u));
        bytes.AddRange(Encoding.ASCII.GetBytes("WAVEfmt "));
        bytes.AddRange(BitConverter.GetBytes(8u));
        bytes.AddRange(new byte[8]);
        Assert.Contains("'fmt ' chunk too short: expected at least 16 bytes, found size 8", Rejects([.. bytes]).Message);
    }

    [Fact]
    public void Reads_from_disk_and_names_the_path_in_errors()
    {
        string dir = Directory.CreateTempSubdirectory("fed-audio-wav-").FullName;
        try
        {
            string good = Path.Combine(dir, "good.wav");
            WavBuilder.WriteMono16(good, Signals.Tone(440, 0.5, 0.5).Samples, 22050);
            Assert.Equal(11025, WavReader.Read(good).Samples.Length);

            string bad = Path.Combine(dir, "bad.wav");
            File.WriteAllText(bad, "not audio at all");
            var e = Assert.Throws<AudioFormatException>(() => WavReader.Read(bad));
            Assert.Equal(bad, e.Source);
            Assert.StartsWith(bad + ":", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_short_file_declaring_gigabytes_of_data_is_refused_as_truncated_without_allocating_them()
    {
        // Found by fuzzing: the 'data' chunk declares 4,278,190,208 bytes and the file ends after 148. The reader used to
        // allocate the declared 2^31 samples (8 GiB) before reading; the samples now grow as bytes arrive.
        var bytes = new WavBuilder { SampleRate = 8000, Data = WavBuilder.Pcm16(new short[50]) }.Build();
        int data = Encoding.ASCII.GetString(bytes).IndexOf("data", StringComparison.Ordinal);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(data + 4), 0xFF000080);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Rejects(bytes);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("truncated 'data' chunk: header declares 4278190208 bytes", e.Message);
        Assert.True(allocated < 4 << 20, $"refusing a {bytes.Length}-byte file allocated {allocated:N0} bytes");
    }

    [Fact]
    public void Samples_beyond_the_first_growth_step_are_all_read()
    {
        var values = Enumerable.Range(0, 200_000).Select(i => (short)(i % 2000 - 1000)).ToArray();
        var audio = Read(new WavBuilder { SampleRate = 8000, Data = WavBuilder.Pcm16(values) }.Build());
        Assert.Equal(values.Length, audio.Samples.Length);
        Assert.Equal(values[^1] / 32768f, audio.Samples[^1]);
        Assert.Equal(values[123_457] / 32768f, audio.Samples[123_457]);
    }
}
