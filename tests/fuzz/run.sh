#!/usr/bin/env bash
# A fuzz campaign with AFL++ and SharpFuzz against one target of tests/fuzz/Federated.Fuzz:
#   bash tests/fuzz/run.sh TARGET [MINUTES] [OUT]
# Builds the harness, instruments the assemblies the target exercises (a copy in OUT/bin), seeds AFL++ with
# tests/fuzz/corpus/TARGET and runs afl-fuzz for MINUTES (default 10) on one core; findings land in OUT/findings
# (default /tmp/federated-fuzz/TARGET). Installs afl++ (Debian) and the sharpfuzz tool when missing.
# FUZZ_NO_BUILD=1 uses the harness as last built.
# The quick in-process run CI does instead: dotnet Federated.Fuzz.dll smoke all --seconds 5 --corpus tests/fuzz/corpus
set -euo pipefail
target="${1:?usage: run.sh TARGET [MINUTES] [OUT]}"
minutes="${2:-10}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${3:-/tmp/federated-fuzz/$target}"

if ! command -v afl-fuzz >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q afl++ >/dev/null
fi
tool="$out/tool"
if [ ! -x "$tool/sharpfuzz" ]; then
  dotnet tool install --tool-path "$tool" SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi

[ "${FUZZ_NO_BUILD:-}" = 1 ] || dotnet build "$root/tests/fuzz/Federated.Fuzz/Federated.Fuzz.csproj" -c Release -nologo -v:quiet
mkdir -p "$out"
rm -rf "$out/bin"
cp -r "$root/tests/fuzz/Federated.Fuzz/bin/Release/net10.0" "$out/bin"
case "$target" in
  csv|table|schema) assemblies="Federated.Data.dll" ;;
  wav) assemblies="Federated.Audio.dll" ;;
  ckks) assemblies="Federated.Crypto.Ckks.dll" ;;
  split-message) assemblies="Federated.Learning.dll Google.Protobuf.dll" ;;
  parquet) assemblies="Federated.Data.dll Parquet.dll" ;;
  psi-message) assemblies="Federated.Crypto.Psi.dll" ;;
  relay-frames) assemblies="Federated.Transport.dll Google.Protobuf.dll" ;;
  handshake) assemblies="Federated.Security.dll" ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
for assembly in $assemblies; do "$tool/sharpfuzz" "$out/bin/$assembly" >/dev/null; done

export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
timeout --signal=INT "$((minutes * 60 + 30))" \
  afl-fuzz -i "$root/tests/fuzz/corpus/$target" -o "$out/findings" -t 10000 -m none -V "$((minutes * 60))" \
  -- dotnet "$out/bin/Federated.Fuzz.dll" fuzz "$target" || true

stats="$out/findings/default/fuzzer_stats"
if [ -f "$stats" ]; then
  grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg) ' "$stats"
fi
crashes=$(find "$out/findings/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
hangs=$(find "$out/findings/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
echo "campaign $target: ${minutes} min, $crashes crash(es), $hangs hang(s); replay with: dotnet $out/bin/Federated.Fuzz.dll replay $target $out/findings/default/crashes/id:*"
