namespace Federated.Audio;

/// <summary>One song to describe: its key in the songs table and the audio file.</summary>
public sealed record AudioInput(string SongKey, string AudioPath);

/// <summary>Builds the list of songs to describe from a folder or from a list file.</summary>
public static class AudioInputs
{
    /// <summary>
    /// Every file with an audio extension (<see cref="AudioLoader.AudioExtensions"/>) in <paramref name="folder"/>,
    /// song key = file name without extension, ordered by ordinal relative path. Two files with the same key
    /// (<c>a.wav</c> and <c>a.ogg</c>) are an error.
    /// </summary>
    public static IReadOnlyList<AudioInput> FromFolder(string folder, bool recursive = false)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"audio folder not found: {folder}");
        }

        var option = recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly;
        var files = Directory.EnumerateFiles(folder, "*", option)
            .Where(f => AudioLoader.AudioExtensions.Contains(Path.GetExtension(f)))
            .OrderBy(f => Path.GetRelativePath(folder, f), StringComparer.Ordinal)
            .ToList();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var inputs = new List<AudioInput>(files.Count);
        foreach (string file in files)
        {
            string key = Path.GetFileNameWithoutExtension(file);
            if (seen.TryGetValue(key, out string? other))
            {
                throw new InvalidDataException(
                    $"audio folder {folder}: song key '{key}' would come from two files: {other} and {file}");
            }

            seen[key] = file;
            inputs.Add(new AudioInput(key, file));
        }

        return inputs;
    }

    /// <summary>
    /// A list file of <c>song_key,audio_path</c> lines (CSV: fields may be double-quoted; an optional header line
    /// <c>song_key,audio_path</c>; blank lines and lines starting with '#' are ignored). Relative paths are relative to
    /// the list file's folder. Missing files, empty keys and duplicate keys are errors naming the line.
    /// </summary>
    public static IReadOnlyList<AudioInput> FromListFile(string listPath)
    {
        ArgumentNullException.ThrowIfNull(listPath);
        string baseDir = Path.GetDirectoryName(Path.GetFullPath(listPath)) ?? ".";
        var inputs = new List<AudioInput>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(listPath))
        {
            lineNumber++;
            string line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            List<string> fields = SplitCsvLine(line, listPath, lineNumber);
            if (inputs.Count == 0 && seen.Count == 0 && fields.Count == 2 &&
                fields[0] == "song_key" && fields[1] == "audio_path")
            {
                continue;
            }

            if (fields.Count != 2)
            {
                throw new InvalidDataException(
                    $"{listPath}, line {lineNumber}: expected 2 fields (song_key,audio_path), found {fields.Count}");
            }

            string key = fields[0];
            if (key.Trim().Length == 0)
            {
                throw new InvalidDataException($"{listPath}, line {lineNumber}: empty song key");
            }

            if (fields[1].Trim().Length == 0)
            {
                throw new InvalidDataException($"{listPath}, line {lineNumber}: empty audio path for song '{key}'");
            }

            if (seen.TryGetValue(key, out int firstLine))
            {
                throw new InvalidDataException(
                    $"{listPath}, line {lineNumber}: duplicate song key '{key}' (first on line {firstLine})");
            }

            string path = Path.GetFullPath(fields[1], baseDir);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"{listPath}, line {lineNumber}: audio file for song '{key}' not found: {path}", path);
            }

            seen[key] = lineNumber;
            inputs.Add(new AudioInput(key, path));
        }

        return inputs;
    }

    private static List<string> SplitCsvLine(string line, string listPath, int lineNumber)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        int i = 0;
        while (true)
        {
            current.Clear();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new InvalidDataException(
                            $"{listPath}, line {lineNumber}: unterminated quoted field");
                    }

                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            current.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    current.Append(line[i++]);
                }

                if (i < line.Length && line[i] != ',')
                {
                    throw new InvalidDataException(
                        $"{listPath}, line {lineNumber}, column {i + 1}: expected ',' after a quoted field");
                }
            }
            else
            {
                while (i < line.Length && line[i] != ',')
                {
                    current.Append(line[i++]);
                }
            }

            fields.Add(current.ToString());
            if (i >= line.Length)
            {
                return fields;
            }

            i++; // the comma
        }
    }
}
