using System.Buffers.Binary;
using System.Text;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Keys;
using Federated.Crypto.Ckks.Serialization;
using Federated.Learning.Protocol.V1;
using Federated.Security;
using Google.Protobuf;

namespace Federated.Fuzz;

/// <summary>
/// Valid inputs for every target, made by the product code itself, so mutations start from what parties really send
/// and read. The first byte of an input picks the dialect or message kind where a target has several.
/// </summary>
public static class SeedCorpus
{
    public static void Write(string root, TextWriter output)
    {
        int files = 0;
        void Put(string target, string name, byte[] data)
        {
            var folder = Path.Combine(root, target);
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, name), data);
            files++;
        }
        static byte[] Prefixed(byte first, byte[] body) => [first, .. body];
        static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

        const string users = "user_id,region,device,age,interests,last_active\n" +
                             "u1,en-north,tv,40,interest00|interest01,1772695759\n" +
                             "u2,fr-north,\"ios, tablet\",25,interest02,1771121316\r\n" +
                             "u3,en-south,android,,,1773542197\n";
        Put("csv", "comma.bin", Prefixed(0, Utf8(users)));
        Put("csv", "tab.bin", Prefixed(1, Utf8(users.Replace(',', '\t'))));
        Put("csv", "quoted.bin", Prefixed(4, Utf8("a,\"b \"\"quoted\"\"\",c\n\"multi\nline\",2,3\n")));
        Put("csv", "unquoted-pipe.bin", Prefixed(130, Utf8("x|y|z\n1|2|3\n")));
        Put("table", "users.csv", Utf8(users));
        Put("table", "users-skip.csv", Utf8("\u0001" + users.Replace("40", "400")));
        Put("schema", "users.json", Utf8(FuzzTargets.UsersSchemaJson));
        Put("schema", "partner-layout.json", Utf8(FuzzTargets.UsersSchemaJson.Replace("\"key\":\"user_id\",",
            "\"key\":\"user_id\",\"csv\":{\"encoding\":\"latin1\",\"delimiter\":\"|\",\"header\":false,\"quoting\":\"None\"},")));

        Put("wav", "pcm16-mono.wav", Wav(format: 1, channels: 1, bits: 16, rate: 8000, samples: 64));
        Put("wav", "float32-stereo.wav", Wav(format: 3, channels: 2, bits: 32, rate: 22050, samples: 32));
        Put("wav", "pcm24-mono.wav", Wav(format: 1, channels: 1, bits: 24, rate: 16000, samples: 16));

        var ctx = new CkksContext(EncryptionParameters.Create(1024, 30, 20, 30), SecurityLevel.NoneInsecure);
        var keys = new KeyGenerator(ctx);
        var publicKey = keys.CreatePublicKey();
        var encoder = new CkksEncoder(ctx);
        var ciphertext = new Encryptor(ctx, publicKey).Encrypt(encoder.Encode([1.0, -2.5, 3.25], Math.Pow(2, 20)));
        Put("ckks", "ciphertext.bin", Prefixed(0, CkksSerializer.Serialize(ciphertext)));
        Put("ckks", "public-key.bin", Prefixed(1, CkksSerializer.Serialize(publicKey)));
        Put("ckks", "galois-keys.bin", Prefixed(2, CkksSerializer.Serialize(keys.CreateGaloisKeys([1]))));
        Put("ckks", "context.bin", Prefixed(3, CkksSerializer.Serialize(ctx)));

        var header = new StepHeader { ProtocolVersion = 1, JobId = "job-fuzz", Step = 3, BatchRows = 4, Mode = CryptoMode.Ckks };
        var block = new CipherBlock { Scheme = "ckks/v1", Rows = 4, Cols = 2, Parts = { ByteString.CopyFrom(CkksSerializer.Serialize(ciphertext)) } };
        Put("split-message", "keys.bin", Prefixed(0, new SplitTrainingMessage
        {
            KeyAnnouncement = new KeyAnnouncement { Header = header, Scheme = "ckks/v1", PublicKeys = ByteString.CopyFrom(CkksSerializer.Serialize(publicKey)), BottomWidth = 8, InteractiveWidth = 4 },
        }.ToByteArray()));
        Put("split-message", "f1.bin", Prefixed(1, new SplitTrainingMessage { F1 = new ForwardActivations { Header = header, Alpha = block } }.ToByteArray()));
        Put("split-message", "f1-no-header.bin", Prefixed(1, new SplitTrainingMessage { F1 = new ForwardActivations { Alpha = block } }.ToByteArray()));
        Put("parquet", "users.parquet", UsersParquet(users));
        static byte[] Json(string s) => Encoding.UTF8.GetBytes(s);
        Put("psi-message", "hello.bin", Prefixed(0, Json("""{"protocol":"federated-psi/1","role":"Music","domainHash":"ab","round":1,"previousStateId":null,"priorCount":0,"newCount":3,"chunkPoints":4096,"seedCommit":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}""")));
        Put("psi-message", "reveal.bin", Prefixed(1, Json("""{"nonce":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff","share":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}""")));
        Put("psi-message", "confirm.bin", Prefixed(2, Json("""{"count":3,"rowsDigest":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}""")));
        Put("psi-message", "blinded.bin", Prefixed(3, Chunk(0, 2, 32)));
        Put("psi-message", "matches.bin", Prefixed(5, Chunk(0, 2, 36)));
        var session = FuzzTargets.Session.Instance.Value;
        Put("relay-frames", "one-chunk.bin", Frames(session, "train.F1", 1, new byte[200], chunkBytes: 4096));
        Put("relay-frames", "three-chunks.bin", Frames(session, "train.B2", 2, new byte[300], chunkBytes: 128));
        using (var peer = SessionHandshake.Start(session.External, new Federated.Core.Jobs.AttemptId(FuzzTargets.Session.JobId), "external", "music"))
            Put("handshake", "offer.bin", peer.Offer);
        output.WriteLine($"wrote {files} seed inputs under {root}");
    }

    /// <summary>A bulk PSI chunk: start, count, then count entries of a pattern.</summary>
    private static byte[] Chunk(int start, int count, int entryBytes)
    {
        var data = new byte[8 + count * entryBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(data, (uint)start);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), (uint)count);
        for (int i = 8; i < data.Length; i++) data[i] = (byte)(i * 37);
        return data;
    }

    /// <summary>The users table written as Parquet by the product's own writer.</summary>
    private static byte[] UsersParquet(string csv)
    {
        var folder = Path.Combine(Path.GetTempPath(), "federated-fuzz-seed-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            var schema = Federated.Data.Schema.TableSchema.Parse(FuzzTargets.UsersSchemaJson);
            var source = Path.Combine(folder, "users.csv");
            var target = Path.Combine(folder, "users.parquet");
            File.WriteAllText(source, csv);
            Task.Run(async () =>
            {
                await using var reader = await Federated.Data.Reading.TableReader.OpenAsync(schema, source, Federated.Data.Reading.BadRowPolicy.Quarantine);
                await using var writer = await Federated.Data.Writing.TableWriter.CreateAsync(schema, target);
                await foreach (var row in reader)
                    await writer.WriteAsync(row);
            }).GetAwaiter().GetResult();
            return File.ReadAllBytes(target);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A RIFF/WAVE file with a fmt and a data chunk of a ramp.</summary>
    private static byte[] Wav(ushort format, ushort channels, ushort bits, int rate, int samples)
    {
        int blockAlign = channels * bits / 8, dataBytes = samples * blockAlign;
        var data = new byte[44 + dataBytes];
        var s = data.AsSpan();
        Encoding.ASCII.GetBytes("RIFF", s);
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], 36 + dataBytes);
        Encoding.ASCII.GetBytes("WAVEfmt ", s[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(s[20..], format);
        BinaryPrimitives.WriteUInt16LittleEndian(s[22..], channels);
        BinaryPrimitives.WriteInt32LittleEndian(s[24..], rate);
        BinaryPrimitives.WriteInt32LittleEndian(s[28..], rate * blockAlign);
        BinaryPrimitives.WriteUInt16LittleEndian(s[32..], (ushort)blockAlign);
        BinaryPrimitives.WriteUInt16LittleEndian(s[34..], bits);
        Encoding.ASCII.GetBytes("data", s[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[40..], dataBytes);
        for (int i = 0; i < samples * channels; i++)
        {
            var at = s[(44 + i * bits / 8)..];
            double v = Math.Sin(i * 0.3) * 0.5;
            if (format == 3) BinaryPrimitives.WriteSingleLittleEndian(at, (float)v);
            else if (bits == 16) BinaryPrimitives.WriteInt16LittleEndian(at, (short)(v * short.MaxValue));
            else { int x = (int)(v * 8_388_607); at[0] = (byte)x; at[1] = (byte)(x >> 8); at[2] = (byte)(x >> 16); }
        }
        return data;
    }

    /// <summary>One sealed message from external to music, chunked and written as the relay writes frames.</summary>
    private static byte[] Frames(FuzzTargets.Session session, string type, ulong sequence, byte[] plaintext, int chunkBytes)
    {
        var sealedPayload = session.ExternalKey.Seal(
            new Federated.Security.SealedHeader(new Federated.Core.Jobs.AttemptId(FuzzTargets.Session.JobId), type, "external", "music", sequence, 7), plaintext);
        var header = new Federated.Transport.V1.RelayHeader
        {
            JobId = FuzzTargets.Session.JobId, MessageType = type, Sender = "external", Receiver = "music",
            Sequence = sequence, Step = 7, PayloadSize = (ulong)sealedPayload.Length, Generation = 1,
        };
        using var stream = new MemoryStream();
        foreach (var frame in Federated.Transport.Relay.MessageChunker.Split(header, sealedPayload, chunkBytes))
            frame.WriteDelimitedTo(stream);
        return stream.ToArray();
    }
}
