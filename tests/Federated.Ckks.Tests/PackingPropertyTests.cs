using CsCheck;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Packing;
using Federated.Crypto.Ckks.Serialization;

namespace Federated.Ckks.Tests;

/// <summary>
/// Packing invariants over generated shapes and values (CsCheck, shrinking to the smallest failing case): column
/// packing places every output column where <see cref="ColumnPacking.UnpackOutputs"/> finds it, for any slot count,
/// batch rows and output width; a ciphertext's residues survive serialisation for every prime size (the byte-aligned
/// residue packing and its tail), and a residue at or above its prime is refused on read.
/// </summary>
public sealed class PackingPropertyTests
{
    [Fact]
    public void Column_packing_unpacks_every_output_column_it_placed()
    {
        var shapes = Gen.Int[3, 12].SelectMany(logSlots => Gen.Int[1, 1 << logSlots]
            .SelectMany(rows => Gen.Int[1, 40].SelectMany(outputs => Gen.Bool.Select(replicate => (Slots: 1 << logSlots, rows, outputs, replicate)))));
        shapes.Sample(s =>
        {
            var packing = new ColumnPacking(s.Slots, s.rows, s.replicate);
            var expected = new double[s.rows * s.outputs];
            for (int i = 0; i < expected.Length; i++) expected[i] = i * 0.5 - 7;
            // What a product would decode to: output column j in ciphertext j / Blocks, block j % Blocks.
            var decoded = Enumerable.Range(0, packing.OutputCiphertextCount(s.outputs)).Select(_ => new double[s.Slots]).ToList();
            for (int j = 0; j < s.outputs; j++)
            {
                var (ct, block) = packing.OutputLocation(j);
                for (int b = 0; b < s.rows; b++) decoded[ct][block * s.rows + b] = expected[b * s.outputs + j];
            }
            var column = Enumerable.Range(0, s.rows).Select(b => (double)b).ToArray();
            var packed = packing.PackColumn(column);
            bool replicated = Enumerable.Range(0, packing.Blocks).All(blk => packed.AsSpan(blk * s.rows, s.rows).SequenceEqual(column));
            return packing.UnpackOutputs(decoded, s.outputs).SequenceEqual(expected) && replicated
                && packing.Blocks == (s.replicate ? s.Slots / s.rows : 1);
        }, iter: 400);
    }

    private static readonly int[][] PrimeSets = [[30, 20, 30], [60, 40, 60], [50, 28, 36, 50], [25, 21, 25], [61, 60, 61]];

    [Fact]
    public void Ciphertext_residues_survive_serialisation_for_every_prime_size_and_out_of_range_ones_are_refused()
    {
        var contexts = PrimeSets.Select(bits => new CkksContext(EncryptionParameters.Create(1024, bits), SecurityLevel.NoneInsecure)).ToArray();
        var cases = Gen.Int[0, contexts.Length - 1].SelectMany(c => Gen.ULong.SelectMany(seed => Gen.Int[0, 1023].Select(at => (c, seed, at))));
        cases.Sample(x =>
        {
            var ctx = contexts[x.c];
            var ct = new Ciphertext(ctx, ctx.MaxLevel, Math.Pow(2, 20));
            var random = new Random(unchecked((int)x.seed));
            for (int poly = 0; poly < 2; poly++)
                for (int prime = 0; prime < ct.PrimeCount; prime++)
                {
                    var q = ctx.Moduli[prime].Value;
                    var span = ct.Component(poly, prime);
                    for (int i = 0; i < span.Length; i++) span[i] = (ulong)random.NextInt64() % q;
                    span[^1] = q - 1; // the largest residue, in the tail the byte packer writes one byte at a time
                }
            var bytes = CkksSerializer.Serialize(ct);
            var back = CkksSerializer.DeserializeCiphertext(ctx, bytes);
            if (!back.C0.SequenceEqual(ct.C0) || !back.C1.SequenceEqual(ct.C1)) return false;

            // The same ciphertext with one residue set to its prime q: refused on read.
            var bad = ct.Clone();
            bad.Component(1, 0)[x.at] = ctx.Moduli[0].Value;
            try { CkksSerializer.DeserializeCiphertext(ctx, CkksSerializer.Serialize(bad)); return false; }
            catch (CkksFormatException) { return true; }
        }, iter: 60, threads: 1);
    }
}
