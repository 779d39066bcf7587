using Federated.Core;
using Federated.Learning.Protocol.V1;
using Google.Protobuf;

namespace Federated.Learning.Split;

/// <summary>Names, header checks and transport mapping of the split-training messages.</summary>
public static class SplitTrainingMessages
{
    /// <summary>The protocol step name of a message (F1 .. B4, or "key announcement").</summary>
    public static string StepName(SplitTrainingMessage.BodyOneofCase body) => body switch
    {
        SplitTrainingMessage.BodyOneofCase.KeyAnnouncement => "key announcement",
        SplitTrainingMessage.BodyOneofCase.F1 => "F1",
        SplitTrainingMessage.BodyOneofCase.F2 => "F2",
        SplitTrainingMessage.BodyOneofCase.F3 => "F3",
        SplitTrainingMessage.BodyOneofCase.B2 => "B2",
        SplitTrainingMessage.BodyOneofCase.B3 => "B3",
        SplitTrainingMessage.BodyOneofCase.B4 => "B4",
        _ => "an empty message",
    };

    /// <summary>The <see cref="PeerMessage.MessageType"/> the transport uses for a message.</summary>
    public static string PeerMessageType(SplitTrainingMessage.BodyOneofCase body) => body switch
    {
        SplitTrainingMessage.BodyOneofCase.KeyAnnouncement => "train.keys",
        SplitTrainingMessage.BodyOneofCase.None => throw new ArgumentException("an empty split-training message has no transport type"),
        _ => "train." + StepName(body),
    };

    public static PeerMessage ToPeerMessage(SplitTrainingMessage message) =>
        new(PeerMessageType(message.BodyCase), message.ToByteArray());

    /// <summary>Parses a transport message, checking that its declared type matches its content.</summary>
    public static SplitTrainingMessage FromPeerMessage(PeerMessage message)
    {
        SplitTrainingMessage parsed;
        try
        {
            parsed = SplitTrainingMessage.Parser.ParseFrom(message.Payload.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ProtocolViolationException($"message '{message.MessageType}' is not a valid split-training message: {e.Message}");
        }
        if (parsed.BodyCase == SplitTrainingMessage.BodyOneofCase.None)
            throw new ProtocolViolationException($"message '{message.MessageType}' carries no split-training body");
        var declared = PeerMessageType(parsed.BodyCase);
        if (declared != message.MessageType)
            throw new ProtocolViolationException($"message declared as '{message.MessageType}' carries {StepName(parsed.BodyCase)} ('{declared}')");
        return parsed;
    }

    internal static StepHeader Header(SplitTrainingMessage message) => message.BodyCase switch
    {
        SplitTrainingMessage.BodyOneofCase.KeyAnnouncement => message.KeyAnnouncement.Header,
        SplitTrainingMessage.BodyOneofCase.F1 => message.F1.Header,
        SplitTrainingMessage.BodyOneofCase.F2 => message.F2.Header,
        SplitTrainingMessage.BodyOneofCase.F3 => message.F3.Header,
        SplitTrainingMessage.BodyOneofCase.B2 => message.B2.Header,
        SplitTrainingMessage.BodyOneofCase.B3 => message.B3.Header,
        SplitTrainingMessage.BodyOneofCase.B4 => message.B4.Header,
        _ => throw new ProtocolViolationException("received an empty split-training message (no body)"),
    } ?? throw new ProtocolViolationException($"{StepName(message.BodyCase)}: the step header is missing");

    /// <summary>Checks version, job, mode, step and batch rows, naming the step and what differed.</summary>
    internal static void CheckHeader(SplitTrainingMessage message, string jobId, CryptoMode mode, ulong expectedStep, int? expectedRows,
        bool forwardOnly = false)
    {
        var header = Header(message);
        string step = StepName(message.BodyCase);
        if (header.ProtocolVersion != SplitTrainingOptions.ProtocolVersion)
            throw new ProtocolViolationException($"{step}: protocol version {header.ProtocolVersion}, this role speaks version {SplitTrainingOptions.ProtocolVersion}");
        if (header.JobId != jobId)
            throw new ProtocolViolationException($"{step}: message for job '{header.JobId}', this role runs job '{jobId}'");
        if (header.Mode != mode)
            throw new ProtocolViolationException($"{step}: message in mode {header.Mode}, this role runs in mode {mode}");
        if (header.Step != expectedStep)
            throw new ProtocolViolationException($"{step}: message for step {header.Step}, expected step {expectedStep} (replayed or out of order)");
        if (expectedRows is int rows && header.BatchRows != rows)
            throw new ProtocolViolationException($"{step}: message for a batch of {header.BatchRows} rows, expected {rows}");
        if (header.ForwardOnly != forwardOnly)
            throw new ProtocolViolationException(
                $"{step}: message for {(header.ForwardOnly ? "an inference" : "a training")} step, this role is in {(forwardOnly ? "an inference" : "a training")} step");
    }

    internal static StepHeader NewHeader(string jobId, CryptoMode mode, ulong step, int rows, bool forwardOnly = false) => new()
    {
        ForwardOnly = forwardOnly,
        ProtocolVersion = SplitTrainingOptions.ProtocolVersion,
        JobId = jobId,
        Mode = mode,
        Step = step,
        BatchRows = (uint)rows,
    };
}
