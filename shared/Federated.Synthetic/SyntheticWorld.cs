using System.Text.Json;
using System.Text.Json.Serialization;
using Federated.Data.Rows;
using Federated.Data.Schema;
using Federated.Data.Writing;

namespace Federated.Synthetic;

/// <summary>
/// Generates the synthetic music world: latent user tastes and song styles (unit vectors built from genre,
/// language and era centroids plus noise); E's user features as noisy functions of taste; M's sparse user features;
/// songs with metadata and audio descriptors as noisy functions of style; Zipf popularity; and interactions drawn
/// as P(song | user) ∝ popularity × exp(sharpness × taste·style) with multi-objective labels from the affinity.
/// Streams every table to disk: memory grows with users and songs, never with interactions.
/// </summary>
public static class SyntheticWorld
{
    private const ulong WorldStream = 1, SongStream = 2, UserStream = 3, InteractionStream = 4, ArtistStream = 5;

    private static readonly string[] GenreNames =
        ["rock", "pop", "jazz", "classical", "hiphop", "electronic", "folk", "metal", "rnb", "country", "latin", "blues"];

    private static readonly string[] LanguageNames = ["en", "es", "zh", "ja", "fr", "de", "pt", "ko", "it", "hi"];
    private static readonly string[] EraNames = ["2020s", "2010s", "2000s", "1990s"];
    private static readonly string[] Devices = ["ios", "android", "web", "tv"];
    private static readonly string[] Channels = ["organic", "ad", "partner", "referral"];
    private const int InterestTags = 24, VideoCategories = 10, Moods = 8;

    public static async Task<SyntheticWorldSummary> GenerateAsync(
        SyntheticWorldOptions options,
        string outputDirectory,
        IProgress<GeneratorProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        var world = new WorldModel(options);
        var root = Path.GetFullPath(outputDirectory);
        foreach (var folder in new[] { SyntheticWorldLayout.ExternalFolder, SyntheticWorldLayout.MusicFolder, SyntheticWorldLayout.TruthFolder })
            Directory.CreateDirectory(Path.Combine(root, folder));

        var schemas = new
        {
            ExternalUsers = SyntheticWorldLayout.ExternalUsers(options, world.Regions, world.InterestNames),
            MusicUsers = SyntheticWorldLayout.MusicUsers(options, world.Genres),
            Songs = SyntheticWorldLayout.Songs(options, world.Genres, world.Languages),
            Interactions = SyntheticWorldLayout.Interactions(options, "interactions", "interactions", withSegment: false),
            HeldOut = SyntheticWorldLayout.Interactions(options, "heldout_interactions", "heldout", withSegment: true),
            TruthUsers = SyntheticWorldLayout.TruthUsers(options),
            TruthSongs = SyntheticWorldLayout.TruthSongs(options),
        };
        var schemaFiles = new (TableSchema Schema, string Path)[]
        {
            (schemas.ExternalUsers, SyntheticWorldLayout.ExternalUsersSchema(root)),
            (schemas.MusicUsers, SyntheticWorldLayout.MusicUsersSchema(root)),
            (schemas.Songs, SyntheticWorldLayout.SongsSchema(root)),
            (schemas.Interactions, SyntheticWorldLayout.InteractionsSchema(root)),
            (schemas.HeldOut, SyntheticWorldLayout.HeldOutSchema(root)),
            (schemas.TruthUsers, SyntheticWorldLayout.TruthUsersSchema(root)),
            (schemas.TruthSongs, SyntheticWorldLayout.TruthSongsSchema(root)),
        };
        foreach (var (schema, path) in schemaFiles) schema.Validate().Save(path);

        Task<ITableWriter> OpenAsync(TableSchema schema, string schemaPath) =>
            TableWriter.CreateAsync(schema, schema.ResolveDataPath(schemaPath), options.ParquetRowGroupSize, cancellationToken);

        // Songs (M) and their truth.
        {
            var songs = await OpenAsync(schemas.Songs, SyntheticWorldLayout.SongsSchema(root)).ConfigureAwait(false);
            await using var songsDisposal = songs.ConfigureAwait(false);
            var truthSongs = await OpenAsync(schemas.TruthSongs, SyntheticWorldLayout.TruthSongsSchema(root)).ConfigureAwait(false);
            await using var truthSongsDisposal = truthSongs.ConfigureAwait(false);
            var row = new DataRow(schemas.Songs);
            var truth = new DataRow(schemas.TruthSongs);
            for (var j = 0; j < options.Songs; j++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                world.WriteSong(j, row);
                await songs.WriteAsync(row, cancellationToken).ConfigureAwait(false);
                truth.SetText(0, world.SongKey(j)).SetFlag(1, world.SongIsCold[j]).SetNumber(2, world.LogPopularity[j])
                    .SetVector(3, world.Style.AsSpan(j * world.Dim, world.Dim).ToArray());
                await truthSongs.WriteAsync(truth, cancellationToken).ConfigureAwait(false);
                if (j % 10_000 == 0) progress?.Report(new GeneratorProgress("songs", j, options.Songs));
            }
        }

        progress?.Report(new GeneratorProgress("songs", options.Songs, options.Songs));

        // Users: E's table, M's table, truth.
        int warm = 0, cold = 0, externalOnly = 0, externalUsers = 0, overlap = 0;
        {
            var external = await OpenAsync(schemas.ExternalUsers, SyntheticWorldLayout.ExternalUsersSchema(root)).ConfigureAwait(false);
            await using var externalDisposal = external.ConfigureAwait(false);
            var music = await OpenAsync(schemas.MusicUsers, SyntheticWorldLayout.MusicUsersSchema(root)).ConfigureAwait(false);
            await using var musicDisposal = music.ConfigureAwait(false);
            var truthUsers = await OpenAsync(schemas.TruthUsers, SyntheticWorldLayout.TruthUsersSchema(root)).ConfigureAwait(false);
            await using var truthUsersDisposal = truthUsers.ConfigureAwait(false);
            var e = new DataRow(schemas.ExternalUsers);
            var m = new DataRow(schemas.MusicUsers);
            var t = new DataRow(schemas.TruthUsers);
            for (var i = 0; i < options.Users; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var segment = world.UserSegment[i];
                var knownToE = world.KnownToExternal[i];
                var knownToM = segment == Segment.Warm;
                switch (segment)
                {
                    case Segment.Warm: warm++; if (knownToE) overlap++; break;
                    case Segment.Cold: cold++; break;
                    default: externalOnly++; break;
                }

                if (knownToE)
                {
                    externalUsers++;
                    world.WriteExternalUser(i, e);
                    await external.WriteAsync(e, cancellationToken).ConfigureAwait(false);
                }

                if (knownToM)
                {
                    world.WriteMusicUser(i, m);
                    await music.WriteAsync(m, cancellationToken).ConfigureAwait(false);
                }

                t.SetText(0, world.UserKey(i))
                    .SetText(1, segment switch
                    {
                        Segment.Warm => SyntheticWorldLayout.WarmUser,
                        Segment.Cold => SyntheticWorldLayout.ColdUser,
                        _ => SyntheticWorldLayout.ExternalOnlyUser,
                    })
                    .SetFlag(2, knownToE).SetFlag(3, knownToM)
                    .SetVector(4, world.Taste.AsSpan(i * world.Dim, world.Dim).ToArray());
                await truthUsers.WriteAsync(t, cancellationToken).ConfigureAwait(false);
                if (i % 10_000 == 0) progress?.Report(new GeneratorProgress("users", i, options.Users));
            }
        }

        progress?.Report(new GeneratorProgress("users", options.Users, options.Users));

        // Interactions: M's training log, and the held-out truth.
        long training = 0, heldOut = 0;
        {
            var interactions = await OpenAsync(schemas.Interactions, SyntheticWorldLayout.InteractionsSchema(root)).ConfigureAwait(false);
            await using var interactionsDisposal = interactions.ConfigureAwait(false);
            var held = await OpenAsync(schemas.HeldOut, SyntheticWorldLayout.HeldOutSchema(root)).ConfigureAwait(false);
            await using var heldDisposal = held.ConfigureAwait(false);
            var trainRow = new DataRow(schemas.Interactions);
            var heldRow = new DataRow(schemas.HeldOut);
            // Users are sampled in parallel blocks (each has its own random stream, so the result does not depend on
            // scheduling) and written in user order; memory is one block of events.
            const int block = 1024;
            var events = new List<WorldModel.Event>[block];
            for (var b = 0; b < block; b++) events[b] = new List<WorldModel.Event>();
            for (var first = 0; first < options.Users; first += block)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(block, options.Users - first);
                Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken },
                    () => new double[options.Songs],
                    (b, _, buffer) =>
                    {
                        events[b].Clear();
                        if (world.UserSegment[first + b] != Segment.ExternalOnly) world.SampleInteractions(first + b, events[b], buffer);
                        return buffer;
                    },
                    _ => { });

                for (var b = 0; b < count; b++)
                {
                    var i = first + b;
                    var coldUser = world.UserSegment[i] == Segment.Cold;
                    foreach (var ev in events[b])
                    {
                        var coldSong = world.SongIsCold[ev.Song];
                        if (!coldUser && !coldSong)
                        {
                            world.FillInteraction(i, ev, trainRow);
                            await interactions.WriteAsync(trainRow, cancellationToken).ConfigureAwait(false);
                            training++;
                            continue;
                        }

                        world.FillInteraction(i, ev, heldRow);
                        heldRow.SetText(7, coldUser && coldSong ? SyntheticWorldLayout.ColdBothSegment
                            : coldUser ? SyntheticWorldLayout.ColdUserSegment : SyntheticWorldLayout.ColdSongSegment);
                        await held.WriteAsync(heldRow, cancellationToken).ConfigureAwait(false);
                        heldOut++;
                    }
                }

                progress?.Report(new GeneratorProgress("interactions", first + count, options.Users));
            }
        }

        progress?.Report(new GeneratorProgress("interactions", options.Users, options.Users));

        var summary = new SyntheticWorldSummary
        {
            OutputDirectory = root, WarmUsers = warm, ColdUsers = cold, ExternalOnlyUsers = externalOnly,
            ExternalUsers = externalUsers, OverlapUsers = overlap, ColdSongs = world.SongIsCold.Count(c => c),
            TrainingInteractions = training, HeldOutInteractions = heldOut,
        };
        WorldDescription.Write(SyntheticWorldLayout.WorldFile(root), options, summary);
        return summary;
    }

    internal enum Segment : byte { Warm, Cold, ExternalOnly }

    /// <summary>The latent world: centroids, tastes, styles, popularity. Memory O(users + songs).</summary>
    private sealed class WorldModel
    {
        private readonly SyntheticWorldOptions _o;
        private readonly float[] _genreCentroid, _languageCentroid, _eraCentroid;
        private readonly float[] _interestDirection, _videoDirection, _moodDirection, _activityDirection, _audioDirection;
        private readonly double[] _audioScale, _audioOffset;
        private readonly int[] _songArtist, _songGenre, _songLanguage, _songEra;
        private readonly int[] _userLanguage, _userEra;
        private readonly int[][] _userGenres;

        public readonly int Dim;
        public readonly float[] Taste;
        public readonly float[] Style;
        public readonly double[] LogPopularity;
        public readonly bool[] SongIsCold;
        public readonly Segment[] UserSegment;
        public readonly bool[] KnownToExternal;
        public readonly string[] Genres, Languages, Regions, InterestNames;

        public WorldModel(SyntheticWorldOptions o)
        {
            _o = o;
            Dim = o.LatentDimensions;
            var rng = new WorldRandom(o.Seed, WorldStream, 0);
            Genres = Enumerable.Range(0, o.Genres).Select(g => g < GenreNames.Length ? GenreNames[g] : $"genre{g}").ToArray();
            Languages = Enumerable.Range(0, o.Languages).Select(l => l < LanguageNames.Length ? LanguageNames[l] : $"lang{l}").ToArray();
            Regions = Languages.SelectMany(l => new[] { $"{l}-north", $"{l}-south" }).ToArray();
            InterestNames = Enumerable.Range(0, InterestTags).Select(k => $"interest{k:D2}").ToArray();

            _genreCentroid = UnitVectors(ref rng, o.Genres);
            _languageCentroid = UnitVectors(ref rng, o.Languages);
            _eraCentroid = UnitVectors(ref rng, EraNames.Length);
            // Interests follow genres (two per genre, perturbed) so that E's interests reveal musical taste.
            _interestDirection = new float[InterestTags * Dim];
            for (var k = 0; k < InterestTags; k++)
            {
                var v = new double[Dim];
                for (var d = 0; d < Dim; d++)
                    v[d] = _genreCentroid[(k % o.Genres) * Dim + d] + 0.4 * _languageCentroid[(k / 2 % o.Languages) * Dim + d] * (k % 2) + 0.3 * rng.NextGaussian();
                Normalize(v, _interestDirection.AsSpan(k * Dim, Dim));
            }

            _videoDirection = UnitVectors(ref rng, VideoCategories);
            _moodDirection = UnitVectors(ref rng, Moods);
            _activityDirection = UnitVectors(ref rng, SyntheticWorldLayout.ActivityFeatures);
            _audioDirection = UnitVectors(ref rng, o.AudioWidth);
            _audioScale = new double[o.AudioWidth];
            _audioOffset = new double[o.AudioWidth];
            for (var k = 0; k < o.AudioWidth; k++)
            {
                _audioScale[k] = Math.Pow(10, -1 + 4 * rng.NextDouble()); // 0.1 .. 1000: real descriptors differ in scale
                _audioOffset[k] = _audioScale[k] * 3 * rng.NextGaussian();
            }

            var genreWeights = Enumerable.Range(0, o.Genres).Select(g => 1.0 / Math.Pow(g + 1, 0.5)).ToArray();
            var languageWeights = Enumerable.Range(0, o.Languages).Select(l => 1.0 / (l + 1)).ToArray();

            // Artists carry a style; songs inherit it with noise.
            var artists = Math.Max(1, o.Songs / 6);
            var artistGenre = new int[artists];
            var artistLanguage = new int[artists];
            var artistEra = new int[artists];
            var artistStyle = new double[artists * Dim];
            for (var a = 0; a < artists; a++)
            {
                var r = new WorldRandom(o.Seed, ArtistStream, a);
                artistGenre[a] = r.Pick(genreWeights);
                artistLanguage[a] = r.Pick(languageWeights);
                artistEra[a] = r.Next(EraNames.Length);
                for (var d = 0; d < Dim; d++)
                    artistStyle[a * Dim + d] = _genreCentroid[artistGenre[a] * Dim + d] + 0.6 * _languageCentroid[artistLanguage[a] * Dim + d]
                        + 0.3 * _eraCentroid[artistEra[a] * Dim + d] + 0.3 * r.NextGaussian();
            }

            Style = new float[o.Songs * Dim];
            _songArtist = new int[o.Songs];
            _songGenre = new int[o.Songs];
            _songLanguage = new int[o.Songs];
            _songEra = new int[o.Songs];
            SongIsCold = new bool[o.Songs];
            var rank = new double[o.Songs];
            var v2 = new double[Dim];
            for (var j = 0; j < o.Songs; j++)
            {
                var r = new WorldRandom(o.Seed, SongStream, j);
                var a = r.Next(artists);
                _songArtist[j] = a;
                _songGenre[j] = r.Chance(0.1) ? r.Next(o.Genres) : artistGenre[a]; // metadata is not perfectly clean
                _songLanguage[j] = artistLanguage[a];
                _songEra[j] = r.Chance(0.8) ? artistEra[a] : r.Next(EraNames.Length);
                for (var d = 0; d < Dim; d++) v2[d] = artistStyle[a * Dim + d] + 0.3 * r.NextGaussian();
                Normalize(v2, Style.AsSpan(j * Dim, Dim));
                SongIsCold[j] = r.Chance(o.ColdSongFraction);
                rank[j] = r.NextDouble();
            }

            // Popularity: a random ranking of songs, weight rank^-exponent.
            var order = Enumerable.Range(0, o.Songs).OrderBy(j => rank[j]).ThenBy(j => j).ToArray();
            LogPopularity = new double[o.Songs];
            for (var r = 0; r < order.Length; r++) LogPopularity[order[r]] = -o.PopularityExponent * Math.Log(r + 1);

            Taste = new float[o.Users * Dim];
            UserSegment = new Segment[o.Users];
            KnownToExternal = new bool[o.Users];
            _userLanguage = new int[o.Users];
            _userEra = new int[o.Users];
            _userGenres = new int[o.Users][];
            for (var i = 0; i < o.Users; i++)
            {
                var r = new WorldRandom(o.Seed, UserStream, i);
                var s = r.NextDouble();
                UserSegment[i] = s < o.ColdUserFraction ? Segment.Cold
                    : s < o.ColdUserFraction + o.ExternalOnlyFraction ? Segment.ExternalOnly : Segment.Warm;
                KnownToExternal[i] = UserSegment[i] != Segment.Warm || r.Chance(o.OverlapRatio);
                var g1 = r.Pick(genreWeights);
                _userGenres[i] = r.Chance(0.5) ? [g1] : [g1, r.Pick(genreWeights)];
                _userLanguage[i] = r.Pick(languageWeights);
                _userEra[i] = r.Next(EraNames.Length);
                var w = _userGenres[i].Length == 1 ? 1.0 : 0.7;
                for (var d = 0; d < Dim; d++)
                {
                    var x = 0.0;
                    for (var k = 0; k < _userGenres[i].Length; k++) x += (k == 0 ? w : 1 - w) * _genreCentroid[_userGenres[i][k] * Dim + d];
                    v2[d] = x + 0.6 * _languageCentroid[_userLanguage[i] * Dim + d] + 0.3 * _eraCentroid[_userEra[i] * Dim + d] + 0.3 * r.NextGaussian();
                }

                Normalize(v2, Taste.AsSpan(i * Dim, Dim));
            }
        }

        public string UserKey(int i) => $"u{i:D8}";
        public string SongKey(int j) => $"s{j:D7}";

        private float[] UnitVectors(ref WorldRandom rng, int count)
        {
            var result = new float[count * Dim];
            var v = new double[Dim];
            for (var k = 0; k < count; k++)
            {
                for (var d = 0; d < Dim; d++) v[d] = rng.NextGaussian();
                Normalize(v, result.AsSpan(k * Dim, Dim));
            }

            return result;
        }

        private static int[] TopIndices(double[] scores, int take) =>
            Enumerable.Range(0, scores.Length).OrderByDescending(k => scores[k]).ThenBy(k => k).Take(take).ToArray();

        private static void Normalize(double[] v, Span<float> into)
        {
            var norm = Math.Sqrt(v.Sum(x => x * x));
            if (norm == 0) norm = 1;
            for (var d = 0; d < v.Length; d++) into[d] = (float)(v[d] / norm);
        }

        private float Dot(ReadOnlySpan<float> a, float[] directions, int k)
        {
            var b = directions.AsSpan(k * Dim, Dim);
            var s = 0f;
            for (var d = 0; d < Dim; d++) s += a[d] * b[d];
            return s;
        }

        /// <summary>κ·signal + √(1−κ²)·noise: informativeness κ decides how much of a feature is signal.</summary>
        private static double Mix(double signal, double informativeness, ref WorldRandom r) =>
            informativeness * signal + Math.Sqrt(1 - informativeness * informativeness) * r.NextGaussian();

        public void WriteSong(int j, DataRow row)
        {
            var r = new WorldRandom(_o.Seed, SongStream ^ 0xA0, j);
            var style = Style.AsSpan(j * Dim, Dim);
            var scale = Math.Sqrt(Dim); // projections of unit vectors have variance ~1/Dim
            var moodScores = new double[Moods];
            for (var k = 0; k < Moods; k++) moodScores[k] = Mix(scale * Dot(style, _moodDirection, k), 0.8, ref r);
            var moods = TopIndices(moodScores, 1 + r.Next(2)).Order().Select(k => $"mood{k}").ToArray();
            var audio = new float[_o.AudioWidth];
            for (var k = 0; k < audio.Length; k++)
            {
                var signal = 1.3 * Math.Tanh(scale * Dot(style, _audioDirection, k));
                audio[k] = (float)(_audioOffset[k] + _audioScale[k] * Mix(signal, _o.AudioInformativeness, ref r));
            }

            row.SetText(0, SongKey(j))
                .SetText(1, $"a{_songArtist[j]:D6}")
                .SetText(2, Genres[_songGenre[j]])
                .SetText(3, Languages[_songLanguage[j]])
                .SetText(4, EraNames[_songEra[j]])
                .SetTokens(5, moods)
                .SetNumber(6, Math.Round(Math.Clamp(210 + 60 * r.NextGaussian(), 45, 900)))
                .SetVector(7, audio);
        }

        public void WriteExternalUser(int i, DataRow row)
        {
            var r = new WorldRandom(_o.Seed, UserStream ^ 0xE0, i);
            var kappa = _o.ExternalInformativeness;
            var taste = Taste.AsSpan(i * Dim, Dim);
            var scale = Math.Sqrt(Dim);
            var region = r.Chance(kappa) ? 2 * _userLanguage[i] + r.Next(2) : r.Next(Regions.Length);
            var video = 0;
            var best = double.NegativeInfinity;
            for (var k = 0; k < VideoCategories; k++)
            {
                var s = Mix(scale * Dot(taste, _videoDirection, k), kappa, ref r);
                if (s > best) { best = s; video = k; }
            }

            var age = Math.Clamp(20 + 9 * (kappa * _userEra[i] + (1 - kappa) * 3 * r.NextDouble()) + 4 * r.NextGaussian(), 14, 90);
            row.SetText(0, UserKey(i))
                .SetText(1, Regions[region])
                .SetText(2, Devices[r.Next(Devices.Length)])
                .SetText(3, $"video{video}")
                .SetNumber(4, Math.Round(age));
            for (var k = 0; k < SyntheticWorldLayout.ActivityFeatures; k++)
                row.SetNumber(5 + k, Math.Round(Math.Max(0, 30 + 12 * Mix(scale * Dot(taste, _activityDirection, k), kappa, ref r)), 1));
            var interestScores = new double[InterestTags];
            for (var k = 0; k < InterestTags; k++) interestScores[k] = Mix(scale * Dot(taste, _interestDirection, k), kappa, ref r);
            var interests = TopIndices(interestScores, 3).Select(k => InterestNames[k]).ToArray();
            row.SetTokens(5 + SyntheticWorldLayout.ActivityFeatures, interests);
            row.SetNumber(6 + SyntheticWorldLayout.ActivityFeatures,
                Math.Floor((_o.Start.ToUnixTimeSeconds() + r.NextDouble() * _o.Days * 86400)));
        }

        public void WriteMusicUser(int i, DataRow row)
        {
            var r = new WorldRandom(_o.Seed, UserStream ^ 0x30, i);
            var declared = r.Chance(0.3) ? _userGenres[i].Distinct().Select(g => Genres[g]).ToArray() : [];
            row.SetText(0, UserKey(i))
                .SetText(1, Channels[r.Next(Channels.Length)])
                .SetText(2, r.Chance(0.15) ? null : Languages[r.Chance(0.7) ? _userLanguage[i] : r.Next(Languages.Length)].ToUpperInvariant())
                .SetTokens(3, declared)
                .SetNumber(4, r.Chance(0.4) ? Math.Round(Math.Clamp(20 + 9 * _userEra[i] + 5 * r.NextGaussian(), 14, 90)) : double.NaN)
                .SetFlag(5, r.Chance(0.2));
        }

        public readonly record struct Event(int Song, double Affinity, double Seconds, ulong Noise);

        /// <summary>
        /// Draws a user's interactions exactly from P(song) ∝ popularity × exp(β·taste·style): one pass over the
        /// songs builds the cumulative weights (O(songs) per user, no memory per interaction), then each draw is a
        /// binary search.
        /// </summary>
        public void SampleInteractions(int i, List<Event> events, double[] cumulative)
        {
            events.Clear();
            var r = new WorldRandom(_o.Seed, InteractionStream, i);
            var taste = Taste.AsSpan(i * Dim, Dim);
            var mean = _o.InteractionsPerUser * (UserSegment[i] == Segment.Cold ? _o.ColdUserHistoryScale : 1);
            var n = Math.Max(1, (int)Math.Round(mean * Math.Exp(0.5 * r.NextGaussian() - 0.125)));
            var beta = _o.TasteSharpness;
            var total = 0.0;
            for (var j = 0; j < cumulative.Length; j++)
            {
                // log weight ≤ 0 (log popularity ≤ 0, affinity ≤ 1), so exp cannot overflow.
                total += Math.Exp(LogPopularity[j] + beta * (Dot(taste, Style, j) - 1));
                cumulative[j] = total;
            }

            for (var e = 0; e < n; e++)
            {
                var target = r.NextDouble() * total;
                var j = Array.BinarySearch(cumulative, target);
                j = j >= 0 ? Math.Min(j + 1, cumulative.Length - 1) : Math.Min(~j, cumulative.Length - 1);
                events.Add(new Event(j, Dot(taste, Style, j), r.NextDouble() * _o.Days * 86400, r.NextULong()));
            }

            events.Sort((x, y) => x.Seconds.CompareTo(y.Seconds));
        }

        /// <summary>Labels from affinity: listen ratio rises with it; full play, skip and collect follow.</summary>
        public void FillInteraction(int i, Event ev, DataRow row)
        {
            var r = new WorldRandom(_o.Seed, (ulong)ev.Noise, i);
            var z = 3.5 * (ev.Affinity - 0.35) + r.NextGaussian();
            var ratio = Math.Clamp(1.15 / (1 + Math.Exp(-z)), 0.01, 1.0);
            var fullPlay = ratio >= 0.9;
            if (fullPlay) ratio = 1.0;
            var collect = fullPlay && r.Chance(1 / (1 + Math.Exp(-3 * (ev.Affinity - 0.6))) * 0.5);
            row.SetText(0, UserKey(i))
                .SetText(1, SongKey(ev.Song))
                .SetTimestamp(2, _o.Start.AddSeconds(Math.Floor(ev.Seconds)))
                .SetFlag(3, fullPlay)
                .SetFlag(4, ratio < 0.25)
                .SetFlag(5, collect)
                .SetNumber(6, Math.Round(ratio, 3));
        }
    }

    /// <summary>truth/world.json: the parameters and counts, for people and for the oracle.</summary>
    internal static class WorldDescription
    {
        private static readonly JsonSerializerOptions Json = new()
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            Converters = { new JsonStringEnumConverter() },
        };

        public static void Write(string path, SyntheticWorldOptions options, SyntheticWorldSummary summary) =>
            File.WriteAllText(path, JsonSerializer.Serialize(new
            {
                description = "Synthetic music world. P(song|user) ∝ exp(log_popularity + tasteSharpness · taste·style). No party reads this folder.",
                options,
                summary = summary with { OutputDirectory = "." },
            }, Json) + "\n");

        public static SyntheticWorldOptions ReadOptions(string path)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.GetProperty("options").Deserialize<SyntheticWorldOptions>(Json)
                   ?? throw new InvalidDataException($"{path}: no options");
        }
    }
}
