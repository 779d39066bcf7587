using Federated.Learning.Model;
using Federated.Learning.Tests.Support;
using static TorchSharp.torch;

namespace Federated.Learning.Tests;

/// <summary>The towers and losses compute what the model description says.</summary>
public class TowerTests
{
    public TowerTests() => TorchRuntime.Initialise(2);

    [Fact]
    public void External_tower_gives_alpha_of_width_k_inside_the_open_unit_interval()
    {
        using var world = new SmallModels();
        var tower = world.NewExternalTower(5);
        var (eb, _) = world.Batch(50, 1);
        // Large dense inputs push the MLP far out; tanh must still bound α.
        var loud = eb with { Dense = eb.Dense.Select(x => x * 1000f).ToArray() };
        var alpha = tower.Forward(loud);
        Assert.Equal(new long[] { 50, SmallModels.K }, alpha.shape);
        Assert.True(alpha.abs().max().item<float>() <= 1f);
        Assert.True(alpha.std().item<float>() > 0.01f, "α is constant: the features did not reach the output");
    }

    [Fact]
    public void Bad_batches_are_rejected_with_row_and_column()
    {
        using var world = new SmallModels();
        var tower = world.NewExternalTower(5);
        var (eb, mb) = world.Batch(4, 1);
        var badId = eb with { Categorical = eb.Categorical.ToArray() };
        badId.Categorical[2 * 2 + 1] = 5;
        Assert.Contains("row 2, column 1 has id 5, outside 0..4", Assert.Throws<ArgumentException>(() => tower.Forward(badId)).Message);
        Assert.Contains("expected 4 rows x 3 columns = 12 values, got 11",
            Assert.Throws<ArgumentException>(() => tower.Forward(eb with { Dense = eb.Dense[..11] })).Message);
        var song = mb with { SongIds = new long[] { 0, 1, 40, 2 } };
        Assert.Contains("row 2, column 0 has id 40", Assert.Throws<ArgumentException>(() => song.Validate(world.Top)).Message);
    }

    [Fact]
    public void Users_new_to_m_share_the_learned_unknown_vector_whatever_ids_they_carry()
    {
        using var world = new SmallModels();
        manual_seed(3);
        var part = new MusicUserPart(world.Top.Users!, SmallModels.D);
        var ids = tensor(new long[] { 0, 1, 5, 2, 3, 0, 4, 1 }, new long[] { 4, 2 });
        var known = tensor(new[] { true, false, false, true });
        var output = part.forward(ids, known);
        // Rows 1 and 2 carry different ids but are unknown: identical outputs; known rows differ.
        Assert.Equal(0f, (output[1] - output[2]).abs().max().item<float>());
        Assert.True((output[0] - output[3]).abs().max().item<float>() > 1e-4f);

        // The unknown vector is a parameter that learns.
        var loss = output[1].sum();
        loss.backward();
        var unknownGrad = part.named_parameters().Single(p => p.name == "unknown").parameter.grad!;
        Assert.True(unknownGrad.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Cold_song_id_embeddings_start_from_the_audio_encoders_output()
    {
        using var world = new SmallModels();
        var top = world.NewTop(4);
        var cold = new long[] { 3, 17, 39 };
        var ids = tensor(cold);
        var before = top.Items.IdEmbeddings(ids);
        top.Items.InitialiseIdEmbeddingsFromAudio(cold, world.Catalog);
        var after = top.Items.IdEmbeddings(ids);
        var encoded = top.Items.EncodeAudio(world.Catalog.Audio.index_select(0, ids));
        Assert.True((after - encoded).abs().max().item<float>() < 1e-6f);
        Assert.True((after - before).abs().max().item<float>() > 1e-3f);
        // Other songs are untouched.
        var warm = tensor(new long[] { 0, 4 });
        Assert.True(top.Items.IdEmbeddings(warm).allclose(world.NewTop(4).Items.IdEmbeddings(warm)));
    }

    [Fact]
    public void Songs_appearing_in_training_for_the_first_time_start_from_their_audio()
    {
        using var world = new SmallModels();
        var top = world.NewTop(4);
        var reference = world.NewTop(4);
        var (_, mb) = world.Batch(6, 3);
        var batch = mb with { SongIds = new long[] { 3, 5, 3, 7, 9, 11 } };
        top.Loss(randn(6, SmallModels.D), batch, world.Catalog);

        var inBatch = tensor(new long[] { 3, 5, 7, 9, 11 });
        var audio = top.Items.EncodeAudio(world.Catalog.Audio.index_select(0, inBatch));
        Assert.True((top.Items.IdEmbeddings(inBatch) - audio).abs().max().item<float>() < 1e-6f);
        Assert.Equal(5, top.SeenSongCount);
        var other = tensor(new long[] { 0, 4, 39 });
        Assert.True(top.Items.IdEmbeddings(other).allclose(reference.Items.IdEmbeddings(other)), "songs outside the batch changed");

        // A seen song is not re-initialised: its embedding keeps what training made of it.
        using (no_grad()) top.Items.named_parameters().Single(p => p.name == "songEmbedding.weight").parameter[3].add_(1f);
        var trained = top.Items.IdEmbeddings(tensor(new long[] { 3 }));
        top.Loss(randn(6, SmallModels.D), batch, world.Catalog);
        Assert.True(top.Items.IdEmbeddings(tensor(new long[] { 3 })).allclose(trained));
    }

    [Fact]
    public void In_batch_softmax_equals_a_hand_computed_loss_with_logq_correction_and_duplicate_masking()
    {
        var users = nn.functional.normalize(tensor(new float[] { 1, 0, 0.6f, 0.8f, 0, 1 }, new long[] { 3, 2 }), p: 2, dim: 1);
        var items = nn.functional.normalize(tensor(new float[] { 0.8f, 0.6f, 1, 0, 0, 1 }, new long[] { 3, 2 }), p: 2, dim: 1);
        var songs = tensor(new long[] { 7, 9, 7 }); // rows 0 and 2 hold the same song
        var logQ = tensor(new float[] { -1, -2, -1 });
        const double t = 0.5;
        var loss = RecallLoss.InBatchSoftmax(users, items, songs, logQ, t).item<float>();

        var u = users.data<float>().ToArray();
        var v = items.data<float>().ToArray();
        var q = new double[] { -1, -2, -1 };
        double expected = 0;
        for (int i = 0; i < 3; i++)
        {
            var logits = new List<double>();
            for (int j = 0; j < 3; j++)
            {
                if (j != i && (i, j) is (0, 2) or (2, 0)) continue; // same song as the positive: not a negative
                logits.Add((u[i * 2] * v[j * 2] + u[i * 2 + 1] * v[j * 2 + 1]) / t - q[j]);
            }
            double positive = (u[i * 2] * v[i * 2] + u[i * 2 + 1] * v[i * 2 + 1]) / t - q[i];
            expected += -(positive - Math.Log(logits.Sum(Math.Exp)));
        }
        Assert.Equal(expected / 3, loss, 4);
    }

    [Fact]
    public void Sampled_bce_ignores_negatives_equal_to_the_positive()
    {
        var users = tensor(new float[] { 1, 0 }, new long[] { 1, 2 });
        var positive = tensor(new float[] { 1, 0 }, new long[] { 1, 2 });
        var negatives = tensor(new float[] { 1, 0, 0, 1 }, new long[] { 1, 2, 2 });
        var loss = RecallLoss.SampledBinaryCrossEntropy(users, positive, negatives, tensor(new long[] { 5 }), tensor(new long[] { 5, 6 }, new long[] { 1, 2 }), 1.0).item<float>();
        // Positive logit 1; the first negative is the positive song (ignored); the second has logit 0.
        double expected = Math.Log(1 + Math.Exp(-1)) + Math.Log(2);
        Assert.Equal(expected, loss, 5);
    }

    [Fact]
    public void User_and_item_vectors_are_unit_length()
    {
        using var world = new SmallModels();
        var top = world.NewTop(4);
        var (_, mb) = world.Batch(10, 2);
        var u = top.UserVectors(randn(10, SmallModels.D) * 5, mb);
        var v = top.ItemVectors(tensor(mb.SongIds), world.Catalog);
        Assert.True((u.norm(1) - 1).abs().max().item<float>() < 1e-5f);
        Assert.True((v.norm(1) - 1).abs().max().item<float>() < 1e-5f);
    }
}
