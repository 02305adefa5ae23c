#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang into build-fuzz and runs each for a while.
#   scripts/fuzz.sh              # short run: 6 s per target (the test command uses this)
#   scripts/fuzz.sh 3600         # long run: an hour per target (docs/security.md)
#   scripts/fuzz.sh 600 config   # one target
# The seed corpora in fuzz/corpus stay untouched; what the fuzzers learn goes to
# build-fuzz/corpus. A crash leaves build-fuzz/artifacts/<target>-crash-* and exits non-zero:
# turn it into a unit test (see docs/security.md) before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-6}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(http_request json_request config cron)

cxx=${FUZZ_CXX:-clang++-14}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found; run scripts/install-deps.sh (clang-14, libclang-rt-14-dev)" >&2
  exit 1
fi
cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug \
  >/dev/null
ninja -C build-fuzz "${targets[@]/%/_fuzzer}"

mkdir -p build-fuzz/artifacts
status=0
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus"
  dict=()
  case $target in
    http_request) dict=(-dict=fuzz/http.dict) ;;
    config) dict=(-dict=fuzz/config.dict) ;;
  esac
  echo "== fuzz $target for ${seconds} s"
  if ! build-fuzz/"${target}_fuzzer" "$corpus" "fuzz/corpus/$target" "${dict[@]}" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="build-fuzz/artifacts/$target-" -print_final_stats=1 \
    2>"build-fuzz/$target.log"; then
    echo "fuzz: $target FAILED; the input is in build-fuzz/artifacts/, the log:" >&2
    tail -40 "build-fuzz/$target.log" >&2
    status=1
  else
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "build-fuzz/$target.log" |
      tr '\n' ' '
    echo
  fi
done
exit $status
