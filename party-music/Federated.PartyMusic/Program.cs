// The music party host: its tables (songs, audio descriptors, listening labels) never leave this process.
// `describe-audio ...` instead runs M's audio data step (audio files -> descriptor table in M's data folder).
if (args is [Federated.Audio.DescribeAudioCommand.Verb, .. var rest])
    return await Federated.Audio.DescribeAudioCommand.RunAsync(rest, Console.Out, Console.Error, CancellationToken.None);
return await Federated.PartyJobs.PartyHost.RunAsync(args, "music", Federated.Security.PartyRole.Music);
