// MSBuild inline task (compiled by RoslynCodeTaskFactory): marks one symbol-version requirement of an ELF64
// shared library as weak, so that the dynamic loader does not refuse the library when the version is missing.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenElfVersionRequirement : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";

    public override bool Execute()
    {
        if (SystemLibStdCxxProvides(VersionName))
        {
            Log.LogMessage(MessageImportance.Low, "System libstdc++ provides " + VersionName + "; no edit needed.");
            return true;
        }
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var bytes = File.ReadAllBytes(path);
                var result = Weaken(bytes, VersionName);
                if (result == PatchResult.Patched)
                {
                    // Write a new file and move it over the old one: never edit through a hard link into the NuGet cache.
                    var temp = path + ".weakening";
                    File.WriteAllBytes(temp, bytes);
                    File.Delete(path);
                    File.Move(temp, path);
                    Log.LogMessage(MessageImportance.High, "Marked " + VersionName + " weak in " + path + " (Debian 12 libstdc++ lacks it).");
                }
                else
                {
                    Log.LogMessage(MessageImportance.Low, path + ": " + result);
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Log.LogError("Could not patch " + path + " for " + VersionName + ": " + e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    public enum PatchResult { Patched, AlreadyWeak, NotRequired }

    /// <summary>Sets VER_FLG_WEAK on the Elf64_Vernaux entry named <paramref name="versionName"/>.</summary>
    public static PatchResult Weaken(byte[] elf, string versionName)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a little-endian ELF64 file");

        long sectionTable = (long)ReadU64(elf, 0x28);
        int sectionSize = ReadU16(elf, 0x3A);
        int sectionCount = ReadU16(elf, 0x3C);
        for (int i = 0; i < sectionCount; i++)
        {
            long header = sectionTable + (long)i * sectionSize;
            if (ReadU32(elf, header + 4) != ShtGnuVerneed) continue;

            long verneed = (long)ReadU64(elf, header + 0x18);
            uint stringSection = ReadU32(elf, header + 0x28);
            uint needCount = ReadU32(elf, header + 0x2C);
            long strings = (long)ReadU64(elf, sectionTable + (long)stringSection * sectionSize + 0x18);

            for (uint n = 0; n < needCount; n++)
            {
                int auxCount = ReadU16(elf, verneed + 2);
                long aux = verneed + ReadU32(elf, verneed + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    if (ReadCString(elf, strings + ReadU32(elf, aux + 8)) == versionName)
                    {
                        ushort flags = ReadU16(elf, aux + 4);
                        if ((flags & VerFlagWeak) != 0) return PatchResult.AlreadyWeak;
                        flags |= VerFlagWeak;
                        elf[aux + 4] = (byte)flags;
                        elf[aux + 5] = (byte)(flags >> 8);
                        return PatchResult.Patched;
                    }
                    aux += ReadU32(elf, aux + 12);
                }
                verneed += ReadU32(elf, verneed + 12);
            }
        }
        return PatchResult.NotRequired;
    }

    private static bool SystemLibStdCxxProvides(string versionName)
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        var needle = Encoding.ASCII.GetBytes(versionName + "\0");
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate)) continue;
            var bytes = File.ReadAllBytes(candidate);
            return IndexOf(bytes, needle) >= 0;
        }
        return false;
    }

    // The task compiles against netstandard2.0 (no spans), hence a plain search.
    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    private static ushort ReadU16(byte[] b, long o) => Check(b, o, 2) ? BitConverter.ToUInt16(b, (int)o) : (ushort)0;
    private static uint ReadU32(byte[] b, long o) => Check(b, o, 4) ? BitConverter.ToUInt32(b, (int)o) : 0u;
    private static ulong ReadU64(byte[] b, long o) => Check(b, o, 8) ? BitConverter.ToUInt64(b, (int)o) : 0ul;

    private static bool Check(byte[] b, long offset, int size) =>
        offset >= 0 && offset + size <= b.Length ? true : throw new InvalidDataException("ELF structure points outside the file at offset " + offset);

    private static string ReadCString(byte[] b, long offset)
    {
        Check(b, offset, 1);
        int end = Array.IndexOf(b, (byte)0, (int)offset);
        if (end < 0) throw new InvalidDataException("unterminated string at offset " + offset);
        return Encoding.ASCII.GetString(b, (int)offset, end - (int)offset);
    }
}
