#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh Debian machine, then builds and runs every
# test project of the solution (unit, integration with real processes on loopback). Benchmarks are not run here.
#   bash tests/run.sh              all tests (what CI runs)
#   bash tests/run.sh unit         in-process tests only    (dotnet test --filter Category=Unit)
#   bash tests/run.sh integration  real processes and programs only (Category=Integration)
set -euo pipefail
case "${1:-all}" in
  all) filter=() ;;
  unit) filter=(--filter "Category=Unit") ;;
  integration) filter=(--filter "Category=Integration") ;;
  *) echo "usage: bash tests/run.sh [all|unit|integration]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

# Debian packages the tests use: ffmpeg + real recorded audio for the audio-descriptor integration tests; redis-server
# for the recall-list publication tests (each test fixture starts its own server on a free port); libgomp1 for USearch's
# native library (the vector-index tests); iproute2 and nftables for the separate-hosts test (each host in its own network
# namespace, firewall rules that allow only party-to-coordinator connections); chromium for the coordinator dashboard's
# browser tests (Playwright drives /usr/bin/chromium).
packages=(ffmpeg sound-theme-freedesktop espeak-ng redis-server libgomp1 iproute2 nftables chromium)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "error: need root (or sudo) to install ${missing[*]}" >&2; exit 1; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
echo "== building"
dotnet build Federated.sln -c Release -nologo -v:quiet
echo "== testing"
log=$(mktemp)
status=0
dotnet test Federated.sln -c Release --no-build -nologo "${filter[@]}" 2>&1 | tee "$log" || status=$?

# One closing line for CI: the totals over all test assemblies.
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END{print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END{print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END{print s+0}')
rm -f "$log"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then exit 1; fi
if [ "$passed" -eq 0 ]; then echo "error: no test ran" >&2; exit 1; fi
