using Federated.Learning;
using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Learning.Tests;

/// <summary>Proves LibTorch loads and computes on this machine (the Debian 12 native fix is in effect).</summary>
public class TorchRuntimeTests
{
    public TorchRuntimeTests() => TorchRuntime.Initialise();

    [Fact]
    public void Backward_pass_gives_the_analytic_gradient_of_a_linear_least_squares_loss()
    {
        // L = 0.5 * ||x W^T + b - y||^2  =>  dL/dW = r^T x,  dL/db = sum_rows(r),  r = x W^T + b - y
        var x = tensor(new float[] { 1, 2, -1, 0.5f, 3, -2 }, 3, 2);
        var y = tensor(new float[] { 1, -1, 0.5f, 2, 0, 1 }, 3, 2);
        var w = tensor(new float[] { 0.2f, -0.3f, 0.7f, 0.1f }, 2, 2).requires_grad_();
        var b = tensor(new float[] { 0.05f, -0.02f }).requires_grad_();

        var residual = x.matmul(w.t()) + b - y;
        var loss = 0.5f * residual.pow(2).sum();
        loss.backward();

        float[] xs = x.data<float>().ToArray(), ys = y.data<float>().ToArray();
        float[] ws = { 0.2f, -0.3f, 0.7f, 0.1f }, bs = { 0.05f, -0.02f };
        var r = new float[6];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++)
                r[i * 2 + j] = xs[i * 2] * ws[j * 2] + xs[i * 2 + 1] * ws[j * 2 + 1] + bs[j] - ys[i * 2 + j];

        var gradW = w.grad!.data<float>().ToArray();
        var gradB = b.grad!.data<float>().ToArray();
        for (int j = 0; j < 2; j++)
        {
            for (int c = 0; c < 2; c++)
            {
                float expected = 0;
                for (int i = 0; i < 3; i++) expected += r[i * 2 + j] * xs[i * 2 + c];
                Assert.Equal(expected, gradW[j * 2 + c], 4);
            }
            Assert.Equal(r[j] + r[2 + j] + r[4 + j], gradB[j], 4);
        }
    }

    [Fact]
    public void A_small_mlp_trained_with_adam_reduces_its_loss()
    {
        manual_seed(7);
        var model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 1));
        var optimizer = optim.Adam(model.parameters(), lr: 0.01);
        var inputs = randn(256, 16);
        var targets = inputs.narrow(1, 0, 1) * 2 - inputs.narrow(1, 1, 1);

        float First() { using var _ = no_grad(); return nn.functional.mse_loss(model.forward(inputs), targets).item<float>(); }
        float before = First();
        for (int step = 0; step < 200; step++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.forward(inputs), targets);
            loss.backward();
            optimizer.step();
        }
        float after = First();
        Assert.True(after < before * 0.1f, $"loss {before} -> {after}: training did not converge");
    }
}
