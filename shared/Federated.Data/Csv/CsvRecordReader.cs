using System.Text;

namespace Federated.Data.Csv;

/// <summary>
/// Streams RFC 4180 records from text: comma-separated (or another delimiter), fields optionally double-quoted, ""
/// inside quotes is a quote, quoted fields may span lines. With quoting off, quotes are ordinary characters and a
/// field ends at the next delimiter or line break. Memory is one buffer plus the current record. Blank lines are
/// not records.
/// </summary>
public sealed class CsvRecordReader : IDisposable
{
    private readonly TextReader _reader;
    private readonly char[] _buffer = new char[1 << 16];
    private readonly StringBuilder _field = new();
    private int _length;
    private int _position;
    private long _line = 1;
    private bool _eof;
    private readonly char _delimiter;
    private readonly bool _quoting;

    public CsvRecordReader(TextReader reader) : this(reader, ',', quoting: true)
    {
    }

    /// <param name="reader">The decoded text.</param>
    /// <param name="delimiter">The field separator (not a quote or a line break).</param>
    /// <param name="quoting">True: RFC 4180 double quotes; false: quotes are plain characters.</param>
    public CsvRecordReader(TextReader reader, char delimiter, bool quoting)
    {
        if (delimiter is '"' or '\r' or '\n') throw new ArgumentException($"'{delimiter}' cannot separate fields", nameof(delimiter));
        _reader = reader;
        _delimiter = delimiter;
        _quoting = quoting;
    }

    /// <summary>Fields of the last record read (reused between calls).</summary>
    public List<string> Fields { get; } = new();

    /// <summary>1-based line on which the last record started.</summary>
    public long RecordLine { get; private set; }

    /// <summary>Null when the last record was well formed, otherwise why not (the record is still consumed).</summary>
    public string? RecordError { get; private set; }

    /// <summary>Characters consumed so far (for throughput figures).</summary>
    public long CharsRead { get; private set; }

    /// <summary>Reads the next record; false at end of input.</summary>
    public bool Read()
    {
        Fields.Clear();
        RecordError = null;
        // Skip blank lines between records.
        while (true)
        {
            var c = Peek();
            if (c < 0) return false;
            if (c == '\n') { Next(); _line++; continue; }
            if (c == '\r') { Next(); if (Peek() == '\n') Next(); _line++; continue; }
            break;
        }

        RecordLine = _line;
        _field.Clear();
        var quoted = false;
        var afterQuote = false;
        var atFieldStart = true;
        while (true)
        {
            var c = Next();
            if (c < 0)
            {
                if (quoted) RecordError ??= $"quoted field opened on line {RecordLine} is never closed";
                Fields.Add(_field.ToString());
                return true;
            }

            if (quoted)
            {
                if (c == '"')
                {
                    if (Peek() == '"') { Next(); _field.Append('"'); }
                    else { quoted = false; afterQuote = true; }
                }
                else
                {
                    if (c == '\n' || (c == '\r' && Peek() != '\n')) _line++;
                    _field.Append((char)c);
                }

                continue;
            }

            if (c == _delimiter)
            {
                Fields.Add(_field.ToString());
                _field.Clear();
                atFieldStart = true;
                afterQuote = false;
                continue;
            }

            switch (c)
            {
                case '\r' or '\n':
                    if (c == '\r' && Peek() == '\n') Next();
                    _line++;
                    Fields.Add(_field.ToString());
                    return true;
                case '"' when atFieldStart && _quoting:
                    quoted = true;
                    atFieldStart = false;
                    continue;
            }

            if (afterQuote)
                RecordError ??= $"unexpected character '{(char)c}' after the closing quote of field {Fields.Count + 1}";
            if (c == '"' && _quoting)
                RecordError ??= $"quote inside an unquoted field {Fields.Count + 1} (quote the whole field and double the quote)";
            atFieldStart = false;
            _field.Append((char)c);
        }
    }

    private int Peek()
    {
        if (_position < _length) return _buffer[_position];
        return Fill() ? _buffer[_position] : -1;
    }

    private int Next()
    {
        if (_position >= _length && !Fill()) return -1;
        CharsRead++;
        return _buffer[_position++];
    }

    private bool Fill()
    {
        if (_eof) return false;
        _length = _reader.Read(_buffer, 0, _buffer.Length);
        _position = 0;
        if (_length > 0) return true;
        _eof = true;
        return false;
    }

    public void Dispose() => _reader.Dispose();
}
