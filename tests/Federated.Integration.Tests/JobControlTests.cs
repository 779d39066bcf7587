using Federated.Operator;
using Federated.Launcher;
using Federated.Transport.Client;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Federated.Integration.Tests;

[Collection(FederationCollection.Name)]
public sealed class JobControlTests(FederationFixture fixture)
{
    [Fact]
    public async Task An_operator_can_stop_a_running_job_after_which_its_relay_is_closed_and_the_parties_take_new_jobs()
    {
        using var op = fixture.Connect("operator");
        var job = await StartLongStreamAsync(op);

        var stopped = await op.Jobs.StopJobAsync(new StopJobRequest { JobId = job.JobId, Reason = "test stop" });

        Assert.Equal(JobState.Stopped, stopped.State);
        Assert.Equal("test stop", stopped.Reason);
        using var external = fixture.Connect("external");
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await external.Relay.ExchangeOfferAsync(new ExchangeOfferRequest { JobId = job.JobId, Offer = ByteString.CopyFrom(1) }));
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);

        var next = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("ping", ("rounds", "2")));
        var finished = await fixture.WaitForJobAsync(op, next.JobId, TimeSpan.FromSeconds(60));
        Assert.Equal(JobState.Completed, finished.State);
        Assert.Equal(JobState.Stopped, (await op.Jobs.GetJobAsync(new GetJobRequest { JobId = job.JobId })).State);
    }

    [Fact]
    public async Task A_job_kind_no_party_runs_is_refused_with_the_kinds_it_does_run()
    {
        using var op = fixture.Connect("operator");
        var error = await Assert.ThrowsAsync<RpcException>(async () => await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("no-such-kind")));
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("does not run job kind 'no-such-kind'", error.Status.Detail);
        Assert.Contains("ping", error.Status.Detail);
    }

    [Fact]
    public async Task Bad_job_parameters_fail_the_job_with_a_message_naming_the_parameter()
    {
        using var op = fixture.Connect("operator");
        var job = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("ping", ("rounds", "lots")));
        var finished = await fixture.WaitForJobAsync(op, job.JobId, TimeSpan.FromSeconds(60));
        Assert.Equal(JobState.Failed, finished.State);
        Assert.Contains("parameter 'rounds' = 'lots' must be an integer", finished.Reason);
    }

    [Fact]
    public async Task A_job_fails_with_a_clear_reason_when_a_party_dies_and_does_not_come_back()
    {
        using var op = fixture.Connect("operator");
        var job = await StartLongStreamAsync(op);

        fixture.Federation.Kill(RunFolder.MusicName);
        try
        {
            var finished = await fixture.WaitForJobAsync(op, job.JobId, TimeSpan.FromSeconds(FederationFixture.PartyLostSeconds + 30));
            Assert.Equal(JobState.Failed, finished.State);
            Assert.Contains("party 'music' sent no heartbeat", finished.Reason);
        }
        finally
        {
            await fixture.Federation.StartHostAsync(RunFolder.MusicName, CancellationToken.None);
        }
        // The external party was released from the failed job and takes new work once music is back.
        var next = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("ping", ("rounds", "1")));
        Assert.Equal(JobState.Completed, (await fixture.WaitForJobAsync(op, next.JobId, TimeSpan.FromSeconds(60))).State);
    }

    /// <summary>Creates a long-running stream job and waits until the relay has carried 20 of its messages.</summary>
    private static async Task<JobInfo> StartLongStreamAsync(CoordinatorConnection op)
    {
        var job = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("stream", ("count", "100000"), ("delayMs", "1")));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await op.Jobs.GetJobAsync(new GetJobRequest { JobId = job.JobId })).Relay.MessagesRelayed < 20)
        {
            Assert.True(DateTime.UtcNow < deadline, "the job never started relaying");
            await Task.Delay(50);
        }
        return job;
    }
}
