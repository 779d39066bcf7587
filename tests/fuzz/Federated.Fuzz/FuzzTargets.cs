using System.Text;
using Federated.Audio;
using Federated.Core;
using Federated.Core.Jobs;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Serialization;
using Federated.Data.Csv;
using Federated.Data.Reading;
using Federated.Data.Schema;
using Federated.Learning.Split;
using Federated.Security;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;

namespace Federated.Fuzz;

/// <summary>
/// One reader or message handler under fuzzing: it gets arbitrary bytes, and may only succeed or refuse them with one of
/// the exceptions its callers expect (the ones that name what was wrong). Anything else — an index out of range, a null
/// reference, an overflow, an out-of-memory from a length taken on trust, a hang — is a finding.
/// </summary>
public sealed record FuzzTarget(string Name, string Description, Action<byte[]> Run, Func<Exception, bool> IsRefusal);

public static class FuzzTargets
{
    /// <summary>The refusals every reader may raise: our own input errors and the format errors of the platform.</summary>
    private static bool InputRefusal(Exception e) => e is InputRejectedException or ProtocolViolationException or InvalidDataException
        or FormatException or DecoderFallbackException or CkksFormatException or AudioFormatException or InvalidProtocolBufferException
        or System.Text.Json.JsonException || (e is ArgumentException && e is not ArgumentNullException and not ArgumentOutOfRangeException);

    private static readonly Lazy<CkksContext> Context = new(() => new CkksContext(EncryptionParameters.Create(1024, 30, 20, 30), SecurityLevel.NoneInsecure));

    /// <summary>The fixed schema of the table targets: the external party's user table of the synthetic world.</summary>
    public const string UsersSchemaJson = """
        {"formatVersion":1,"table":"external_users","role":"Users","file":"users.csv","key":"user_id","roles":{"user":"user_id"},
         "columns":[{"name":"user_id","kind":"Id"},
          {"name":"region","kind":"Categorical","categories":["en-north","en-south","fr-north"],"strict":true},
          {"name":"device","kind":"Categorical"},
          {"name":"age","kind":"Numeric","min":10,"max":100},
          {"name":"interests","kind":"MultiCategorical","categories":["interest00","interest01","interest02"],"maxTokens":8},
          {"name":"last_active","kind":"Timestamp","timestampFormat":"UnixSeconds"}]}
        """;

    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("csv", "CSV records (quoting, delimiters, line ends) as every table reader splits them", Csv, InputRefusal),
        new("table", "a typed CSV table through the table reader (schema checks, bad-row policy)", Table, InputRefusal),
        new("schema", "schema JSON (columns, kinds, roles, encodings, timestamp patterns)", Schema, InputRefusal),
        new("wav", "WAV files (RIFF chunks, PCM and float formats) as M's audio step reads them", Wav, InputRefusal),
        new("ckks", "CKKS objects from the peer: ciphertexts, public and Galois keys, parameter sets", Ckks, e => InputRefusal(e) || e is CkksParameterException),
        new("split-message", "split-training messages from the relay (protobuf, declared type, headers)", SplitMessage, InputRefusal),
        new("parquet", "a typed Parquet table through the table reader (footer, schema match, row groups, column loaders)", Parquet, InputRefusal),
        new("psi-message", "PSI messages from the peer: JSON control messages and the chunk framing of bulk messages", PsiMessage, InputRefusal),
        new("relay-frames", "a stream of relay frames as the coordinator's send handler and a party's delivery pump take them (chunk reassembly, bounds, addressing, opening the sealed payload)",
            RelayFrames, e => InputRefusal(e) || e is RelayProtocolException or SealingException),
        new("handshake", "the peer's signed handshake offer (certificate, identity, role, job binding, signature, X25519 key)",
            Handshake, e => InputRefusal(e) || e is SealingException),
    ];

    public static FuzzTarget Get(string name) => All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"unknown fuzz target '{name}'; targets: {string.Join(", ", All.Select(t => t.Name))}");

    private static void Csv(byte[] data)
    {
        // The first byte picks the dialect, as a schema's "csv" object would.
        char delimiter = data.Length == 0 ? ',' : (data[0] % 4) switch { 0 => ',', 1 => '\t', 2 => '|', _ => ';' };
        bool quoting = data.Length == 0 || data[0] < 128;
        using var reader = new CsvRecordReader(new StringReader(Encoding.UTF8.GetString(data.AsSpan(Math.Min(1, data.Length)))), delimiter, quoting);
        long fields = 0;
        while (reader.Read())
        {
            fields += reader.Fields.Count;
            if (fields > 10_000_000) throw new InvalidOperationException("more fields than characters");
        }
    }

    private static readonly Lazy<TableSchema> UsersSchema = new(() => TableSchema.Parse(UsersSchemaJson));

    private static void Table(byte[] data)
    {
        var path = Path.Combine(Path.GetTempPath(), $"federated-fuzz-{Environment.ProcessId}.csv");
        File.WriteAllBytes(path, data);
        try
        {
            var policy = data.Length > 0 && data[0] % 2 == 1 ? BadRowPolicy.Quarantine : BadRowPolicy.FailFast;
            Task.Run(async () =>
            {
                await using var reader = await TableReader.OpenAsync(UsersSchema.Value, path, policy);
                await foreach (var _ in reader) { }
            }).GetAwaiter().GetResult();
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static long _parquetFiles;

    private static void Parquet(byte[] data)
    {
        var path = Path.Combine(Path.GetTempPath(), $"federated-fuzz-{Environment.ProcessId}-{Interlocked.Increment(ref _parquetFiles)}.parquet");
        File.WriteAllBytes(path, data);
        try
        {
            Task.Run(async () =>
            {
                await using var reader = await TableReader.OpenAsync(UsersSchema.Value, path, BadRowPolicy.Quarantine);
                await foreach (var _ in reader) { }
            }).GetAwaiter().GetResult();
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A session between the two parties of one job, made in this process (keys never leave it).</summary>
    internal sealed class Session
    {
        public const string JobId = "job-fuzz";
        public static readonly Lazy<Session> Instance = new(() => new Session());
        public X509Certificate2 Music { get; }
        public X509Certificate2 External { get; }
        public CertificateValidator Validator { get; }
        public SessionKey MusicKey { get; }
        public SessionKey ExternalKey { get; }

        private Session()
        {
            var authority = CertificateFactory.CreateAuthority("fuzz-ca", TimeSpan.FromDays(1));
            Music = CertificateFactory.IssueParty(authority, "music", PartyRole.Music, [], TimeSpan.FromDays(1));
            External = CertificateFactory.IssueParty(authority, "external", PartyRole.External, [], TimeSpan.FromDays(1));
            Validator = new CertificateValidator(authority);
            using var music = SessionHandshake.Start(Music, new AttemptId(JobId), "music", "external");
            using var external = SessionHandshake.Start(External, new AttemptId(JobId), "external", "music");
            MusicKey = music.Complete(external.Offer, Validator);
            ExternalKey = external.Complete(music.Offer, Validator);
        }
    }

    /// <summary>Relay frames, each written length-delimited (as <c>WriteDelimitedTo</c> does), received by music from external.</summary>
    private static void RelayFrames(byte[] data)
    {
        var session = Session.Instance.Value;
        var assembler = new MessageAssembler(maxMessageBytes: 1 << 20);
        using var stream = new MemoryStream(data, writable: false);
        while (stream.Position < stream.Length)
        {
            var frame = RelayFrame.Parser.ParseDelimitedFrom(stream);
            if (assembler.Add(frame) is not { } message) continue;
            var h = message.Header;
            if (h.JobId != Session.JobId || h.Sender != "external" || h.Receiver != "music")
                throw new RelayProtocolException($"delivery addressed {h.Sender} -> {h.Receiver} for job {h.JobId}");
            session.MusicKey.Open(new SealedHeader(new AttemptId(h.JobId), h.MessageType, h.Sender, h.Receiver, h.Sequence, h.Step), message.SealedPayload);
        }
        if (assembler.InProgress && assembler.Received > (long)assembler.Current!.PayloadSize)
            throw new InvalidOperationException("the assembler holds more bytes than the message announced");
    }

    /// <summary>The offer music receives from external.</summary>
    private static void Handshake(byte[] data)
    {
        var session = Session.Instance.Value;
        using var music = SessionHandshake.Start(session.Music, new AttemptId(Session.JobId), "music", "external");
        using var key = music.Complete(data, session.Validator);
    }

    private static void PsiMessage(byte[] data) => Federated.Crypto.Psi.PsiWireProbe.Parse(data);

    private static void Schema(byte[] data) => TableSchema.Parse(Encoding.UTF8.GetString(data));

    private static void Wav(byte[] data)
    {
        using var stream = new MemoryStream(data, writable: false);
        WavReader.Read(stream, "fuzz.wav");
    }

    private static void Ckks(byte[] data)
    {
        var ctx = Context.Value;
        var body = data.AsSpan(Math.Min(1, data.Length));
        switch (data.Length == 0 ? 0 : data[0] % 4)
        {
            case 0: CkksSerializer.DeserializeCiphertext(ctx, body); break;
            case 1: CkksSerializer.DeserializePublicKey(ctx, body); break;
            case 2: CkksSerializer.DeserializeGaloisKeys(ctx, body); break;
            default: CkksSerializer.DeserializeContext(body); break;
        }
    }

    private static readonly string[] MessageTypes = ["train.keys", "train.F1", "train.F2", "train.F3", "train.B2", "train.B3", "train.B4", "train.X"];

    private static void SplitMessage(byte[] data)
    {
        var type = data.Length == 0 ? MessageTypes[0] : MessageTypes[data[0] % MessageTypes.Length];
        var message = SplitTrainingMessages.FromPeerMessage(new PeerMessage(type, data.AsMemory(Math.Min(1, data.Length))));
        // What a role reads first from a well-formed message: its header (missing headers are refused by name).
        _ = SplitTrainingMessages.StepName(message.BodyCase);
        _ = message.CalculateSize();
    }
}
