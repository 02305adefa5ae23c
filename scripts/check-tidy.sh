#!/usr/bin/env bash
# Fails (printing each finding as file:line:column) when clang-tidy warns about a .cc file of
# src/ with the checks of .clang-tidy; the headers of src/ are checked through the files that
# include them. clang-tidy 14 (Debian 12's, the LLVM of its clang-format 14), with the compile
# commands of build/ (configured here when build/ has none yet). The unit tests (*_test.cc,
# tests/) are left out: they would double the run's ~4 minutes. Runs on 2 cores, or
# $DBLAB_TIDY_JOBS. `scripts/check-tidy.sh FILE...` checks only those files.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/compile_commands.json ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if (($#)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files 'src/*.cc' | grep -v '_test\.cc$')
fi
jobs="${DBLAB_TIDY_JOBS:-2}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
start=$SECONDS
# One clang-tidy per file, its output in a file of its own so that parallel runs do not mix.
status=0
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c \
  'clang-tidy -p build --quiet "$1" >"$2/$(printf %s "$1" | tr / _).log" 2>&1' sh {} "$out" ||
  status=$?
# A header's finding is reported by every file that includes it: once is enough.
findings="$(cat "$out"/*.log | grep -E '^[^ ].*:[0-9]+:[0-9]+: (warning|error): ' |
  sed "s|^$PWD/||" | sort -u || true)"
if [[ -n "$findings" ]]; then
  printf '%s\n' "$findings" >&2
  printf 'clang-tidy: %d finding(s) above (.clang-tidy says why each check is on). Fix the code,\n' \
    "$(printf '%s\n' "$findings" | wc -l)" >&2
  printf 'or silence a wrong finding on its line: // NOLINT(check-name): the reason\n' >&2
  exit 1
fi
if ((status)); then
  cat "$out"/*.log >&2
  echo "clang-tidy failed (exit $status) without a finding: its output is above" >&2
  exit 1
fi
echo "tidy: ${#files[@]} files of src/ clean under .clang-tidy ($((SECONDS - start)) s)"
