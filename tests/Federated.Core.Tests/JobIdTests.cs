using System.Text.Json;
using Federated.Core.Jobs;

namespace Federated.Core.Tests;

public sealed class JobIdTests
{
    private sealed record Stored(AttemptId Attempt, TrainingJobName Job, RoundNumber Round);

    [Fact]
    public void Ids_are_stored_in_json_as_their_plain_values_and_read_back_equal()
    {
        var stored = new Stored(new AttemptId("job-20261206-1"), new TrainingJobName("weekly.music-2"), new RoundNumber(3));
        string json = JsonSerializer.Serialize(stored);
        Assert.Equal("{\"Attempt\":\"job-20261206-1\",\"Job\":\"weekly.music-2\",\"Round\":3}", json);
        Assert.Equal(stored, JsonSerializer.Deserialize<Stored>(json));
    }

    [Theory]
    [InlineData("{\"Attempt\":\"\",\"Job\":\"a\",\"Round\":1}", "attempt id")]
    [InlineData("{\"Attempt\":\"x\",\"Job\":\"../etc\",\"Round\":1}", "training job name '../etc'")]
    [InlineData("{\"Attempt\":\"x\",\"Job\":\"a\",\"Round\":0}", "round")]
    public void A_stored_record_with_an_invalid_id_fails_to_load_naming_the_id(string json, string named)
    {
        var error = Assert.ThrowsAny<Exception>(() => JsonSerializer.Deserialize<Stored>(json));
        Assert.Contains(named, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_training_run_key_joins_job_and_round()
    {
        var run = new TrainingRun(new TrainingJobName("weekly"), new RoundNumber(1));
        Assert.Equal("weekly/r1", run.Key);
        Assert.Equal(new RoundNumber(2), run.Round.Next);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("a b")]
    public void A_training_job_name_that_is_not_a_safe_folder_name_is_refused(string name)
    {
        Assert.False(TrainingJobName.IsValid(name));
        var error = Assert.Throws<ArgumentException>(() => new TrainingJobName(name));
        Assert.Contains("letters, digits", error.Message, StringComparison.Ordinal);
    }
}
