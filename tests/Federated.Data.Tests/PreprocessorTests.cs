using Federated.Data.Features;
using Federated.Data.Rows;
using Federated.Data.Schema;

namespace Federated.Data.Tests;

public sealed class PreprocessorTests
{
    private static readonly TableSchema Schema = new()
    {
        Table = "people", Role = TableRole.Users, Key = "id",
        Columns =
        [
            new ColumnSpec { Name = "id", Kind = ColumnKind.Id },
            new ColumnSpec { Name = "city", Kind = ColumnKind.Categorical },
            new ColumnSpec { Name = "tier", Kind = ColumnKind.Categorical, Categories = ["gold", "silver"], Strict = true },
            new ColumnSpec { Name = "age", Kind = ColumnKind.Numeric, Nullable = true },
            new ColumnSpec { Name = "likes", Kind = ColumnKind.MultiCategorical },
            new ColumnSpec { Name = "emb", Kind = ColumnKind.Vector, Width = 2 },
            new ColumnSpec { Name = "note", Kind = ColumnKind.Categorical, Feature = false },
        ],
    };

    private static DataRow Row(string id, string? city, string tier, double age, string[] likes, float[] emb) =>
        new DataRow(Schema).SetText(0, id).SetText(1, city).SetText(2, tier).SetNumber(3, age).SetTokens(4, likes).SetVector(5, emb).SetText(6, "n");

    private static readonly DataRow[] Training =
    [
        Row("a", "paris", "gold", 20, ["jazz", "rock"], [1, 100]),
        Row("b", "paris", "silver", 30, ["rock"], [3, 300]),
        Row("c", "rome", "gold", double.NaN, [], [5, 500]),
    ];

    [Fact]
    public void Statistics_come_from_training_rows_and_encode_to_ids_and_z_scores()
    {
        var p = FeaturePreprocessor.Fit(Schema, Training);

        Assert.Equal(3, p.FittedRows);
        Assert.Equal(2, p.CategoricalCount);          // city, tier (note is not a feature)
        Assert.Equal(1, p.MultiCategoricalCount);
        Assert.Equal(1 + 1 + 2, p.DenseWidth);         // age, age-missing indicator, emb[2]
        Assert.Equal([2 + 2, 2 + 2], p.CategoricalCardinalities); // paris, rome / gold, silver + missing + OOV

        // A held-out row: unseen city → out-of-vocabulary, unseen like → OOV, missing age → 0 with indicator.
        var m = p.Encode(Row("z", "oslo", "silver", double.NaN, ["rock", "polka"], [3, 500]));
        var paris = p.CategoryId(0, "paris");
        Assert.Equal(FeaturePreprocessor.FirstCategoryId, paris);  // most frequent first
        Assert.Equal([FeaturePreprocessor.OutOfVocabularyId, FeaturePreprocessor.FirstCategoryId + 1], m.CategoricalRow(0).ToArray());
        Assert.Equal(FeaturePreprocessor.FirstCategoryId, p.CategoryId(3, "rock"));   // rock twice, jazz once
        Assert.Equal([p.CategoryId(3, "rock"), FeaturePreprocessor.OutOfVocabularyId], m.MultiCategorical[0].Row(0).ToArray());

        // age: training mean 25, sample std √50; emb: means (3, 300), stds (2, 200).
        var dense = m.DenseRow(0).ToArray();
        Assert.Equal(0f, dense[0]);
        Assert.Equal(1f, dense[1]);
        Assert.Equal(0f, dense[2], 5);
        Assert.Equal(1f, dense[3], 5);
        var known = p.Encode(Training[1]).DenseRow(0).ToArray();
        Assert.Equal((float)(5 / Math.Sqrt(50)), known[0], 5);
        Assert.Equal(0f, known[1]);
    }

    [Fact]
    public void Strict_columns_use_the_declared_categories_and_missing_maps_to_zero()
    {
        var p = FeaturePreprocessor.Fit(Schema, Training);
        Assert.Equal(["gold", "silver"], p.Columns.Single(c => c.Name == "tier").Vocabulary!);
        Assert.Equal(FeaturePreprocessor.MissingId, p.Encode(Row("y", null, "gold", 1, [], [0, 0])).CategoricalRow(0)[0]);
    }

    [Fact]
    public void Fitted_state_round_trips_through_json_and_encodes_identically()
    {
        var p = FeaturePreprocessor.Fit(Schema, Training, new PreprocessorOptions { MinCount = 2 });
        var restored = FeaturePreprocessor.FromJson(p.ToJson());
        var rows = Training.Append(Row("q", "oslo", "gold", 99, ["jazz"], [0, 0])).ToArray();
        var a = p.EncodeAll(rows);
        var b = restored.EncodeAll(rows);

        Assert.Equal(["paris"], restored.Columns[0].Vocabulary!);   // rome seen once < MinCount 2
        Assert.Equal(a.Categorical, b.Categorical);
        Assert.Equal(a.Dense, b.Dense);
        Assert.Equal(a.MultiCategorical[0].Offsets, b.MultiCategorical[0].Offsets);
        Assert.Equal(a.MultiCategorical[0].Ids, b.MultiCategorical[0].Ids);
        Assert.Equal(new string?[] { "a", "b", "c", "q" }, b.Keys);
        Assert.Equal(4 * b.DenseWidth, b.Dense.Length);
    }

    [Fact]
    public void Rows_of_another_table_are_refused()
    {
        var p = FeaturePreprocessor.Fit(Schema, Training);
        var other = Schema with { Table = "songs" };
        var error = Assert.Throws<ArgumentException>(() => p.Encode(new DataRow(other)));
        Assert.Contains("fitted on 'people'", error.Message);
    }
}
