using CsCheck;

namespace Federated.Psi.Tests;

/// <summary>
/// PSI invariants over generated ID sets (CsCheck): whatever the sizes, overlap, duplicates-free content and characters
/// of the IDs, both parties get exactly the plain set intersection, in the same row order.
/// </summary>
public sealed class PsiPropertyTests
{
    private static readonly Gen<string> Ids = Gen.String[Gen.Char.AlphaNumeric, 1, 24];

    [Fact]
    public void Both_parties_get_exactly_the_set_intersection_in_one_order()
    {
        var sets = Ids.HashSet[0, 60].SelectMany(shared =>
            Ids.HashSet[0, 60].SelectMany(onlyM => Ids.HashSet[0, 60].Select(onlyE => (shared, onlyM, onlyE))));
        int run = 0;
        sets.Sample(s =>
        {
            var m = s.shared.Concat(s.onlyM).Distinct().ToList();
            var e = s.shared.Concat(s.onlyE).Distinct().ToList();
            var expected = m.Intersect(e).ToHashSet(StringComparer.Ordinal);
            using var h = new PsiHarness();
            var (rm, re) = h.RunAsync(m, e, $"prop-{run++}").GetAwaiter().GetResult();
            var keysM = File.ReadAllLines(rm.AlignedKeysPath);
            var keysE = File.ReadAllLines(re.AlignedKeysPath);
            return rm.IntersectionSize == expected.Count && re.IntersectionSize == expected.Count
                && keysM.ToHashSet(StringComparer.Ordinal).SetEquals(expected) && keysM.SequenceEqual(keysE);
        }, iter: 25, threads: 1);
    }
}
