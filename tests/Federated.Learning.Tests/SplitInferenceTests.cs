using Federated.Core;
using Federated.Learning.Crypto;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;
using static TorchSharp.torch;

namespace Federated.Learning.Tests;

/// <summary>Inference (docs/protocol.md §4): F1-F3 give M the user vectors of α·W without training anything.</summary>
public class SplitInferenceTests
{
    public SplitInferenceTests() => TorchRuntime.Initialise(2);

    [Fact]
    public void Inference_gives_the_user_vectors_of_the_joint_model_and_changes_nothing()
    {
        using var world = new SmallModels();
        var job = SmallModels.JobOptions(new LabelDpOptions { ClipNorm = 1, NoiseMultiplier = 1 });
        var (e, m) = world.SplitPair(job);
        using (e)
        using (m)
        {
            for (int step = 0; step < 2; step++)
            {
                var (eb, mb) = world.Batch(16, 40 + step);
                InProcessSplitExchange.Step(e, m, eb, mb);
            }
            var weightBefore = (e.WeightHalf + m.WeightHalf).clone();
            var epsilonBefore = m.LastReport!.Epsilon;
            var (users, music) = world.Batch(24, 50);

            var vectors = InProcessSplitExchange.Infer(e, m, users, music.UserCategorical, music.UserKnown);

            Tensor expected;
            using (no_grad())
            {
                var z = e.Tower.Forward(users).to_type(ScalarType.Float64).mm(e.WeightHalf + m.WeightHalf).to_type(ScalarType.Float32);
                expected = m.Top.UserVectors(z, music);
            }
            Assert.Equal(new long[] { 24, SmallModels.D }, vectors.shape);
            Assert.True((vectors - expected).abs().max().item<float>() < 1e-5f, "inferred user vectors differ from α·W through M's top model");
            Assert.True((vectors.norm(1) - 1).abs().max().item<float>() < 1e-5f);
            Assert.True((e.WeightHalf + m.WeightHalf).equal(weightBefore).all().item<bool>(), "inference changed W");
            Assert.Equal(epsilonBefore, m.LastReport!.Epsilon);
            Assert.Equal(1UL, e.CompletedInferences);
            Assert.Equal(1UL, m.CompletedInferences);
            Assert.Equal(2UL, m.CompletedSteps);

            // Training continues after the inference with both step counters in agreement.
            var (eb2, mb2) = world.Batch(16, 60);
            InProcessSplitExchange.Step(e, m, eb2, mb2);
            Assert.Equal(3UL, e.CompletedSteps);
        }
    }

    [Fact]
    public void An_inference_f1_is_rejected_when_m_prepared_a_training_step_and_the_other_way_round()
    {
        using var world = new SmallModels();
        var (e, m) = world.SplitPair(SmallModels.JobOptions());
        using (e)
        using (m)
        {
            var (eb, mb) = world.Batch(8, 1);
            m.PrepareStep(mb);
            var inference = e.BeginInference(eb);
            Assert.Contains("an inference step, this role is in a training step", Assert.Throws<ProtocolViolationException>(() => m.Handle(inference)).Message);
        }

        var (e2, m2) = world.SplitPair(SmallModels.JobOptions());
        using (e2)
        using (m2)
        {
            var (eb, mb) = world.Batch(8, 2);
            m2.PrepareInference(8, mb.UserCategorical, mb.UserKnown);
            var training = e2.BeginStep(eb);
            Assert.Contains("a training step, this role is in an inference step", Assert.Throws<ProtocolViolationException>(() => m2.Handle(training)).Message);
        }
    }
}
