using System.Globalization;
using ScottPlot;

namespace Federated.Experiments.Reports;

/// <summary>The report's PNG figures (ScottPlot): per task and metric, each method's curve over K with its interval as a band.</summary>
internal static class ReportPlots
{
    private const int Width = 1000, Height = 620;

    public static void Write(string folder, TaskFigures task, ReportSettings settings)
    {
        var ks = Enumerable.Range(1, settings.MaxK).Select(k => (double)k).ToArray();
        foreach (var (file, metric) in task.Plots.Zip(MetricCurves.Metrics))
        {
            var plot = new Plot();
            var palette = new ScottPlot.Palettes.Category10();
            double top = 0;
            for (int i = 0; i < task.Methods.Count; i++)
            {
                var method = task.Methods[i];
                var curve = method[metric];
                var color = palette.GetColor(i);
                var band = plot.Add.FillY(ks, curve.Low, curve.High);
                band.FillColor = color.WithAlpha(0.18);
                band.LineWidth = 0;
                var line = plot.Add.ScatterLine(ks, curve.Value);
                line.Color = color;
                line.LineWidth = 2;
                line.LegendText = method.Method;
                top = Math.Max(top, curve.High.Max());
            }
            plot.Title(string.Create(CultureInfo.InvariantCulture,
                $"{task.Task}: {metric}@K, {settings.Level:P0} bootstrap intervals over {task.Queries} {task.QueryKind}s"));
            plot.XLabel("K");
            plot.YLabel($"{metric}@K");
            plot.Axes.SetLimits(1, settings.MaxK, 0, Math.Max(0.05, top * 1.05));
            plot.ShowLegend(Alignment.UpperLeft);
            var path = Path.Combine(folder, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            plot.SavePng(path, Width, Height);
        }
    }
}
