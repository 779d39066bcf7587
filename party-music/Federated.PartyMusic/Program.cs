// The music party host: its tables (songs, audio descriptors, listening labels) never leave this process.
return await Federated.PartyJobs.PartyHost.RunAsync(args, "music", Federated.Security.PartyRole.Music);
