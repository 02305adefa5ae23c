#!/usr/bin/env bash
# Runs the dblab benchmark (bench/dblab_bench.cc). As root on Debian 12.
#
#   sudo bench/run.sh                 # scales 10 and 100, 10 runs each; results in bench/results
#   sudo bench/run.sh --large         # also scale 600 (~9 GB) if the disk allows
#   sudo bench/run.sh --quick         # scale 10, 3 runs, 5 at once / 10 alive: end-to-end check
#   sudo bench/run.sh --scales 10 --runs 20 --note "idle machine"
#   sudo bench/run.sh --masking       # retrieval without and with masking rules: scale 100 + 1M users
#   sudo bench/run.sh --masking --quick   # scale 1 + 5,000 users: the end-to-end check
#
# Options after the mode go to dblab-bench (see `--help`). Environment: DBLAB_BUILD_DIR (default
# build/), DBLAB_BENCH_OUT (output directory; default bench/results, or $DBLAB_BUILD_DIR/bench-quick
# with --quick; bench/results/masking and $DBLAB_BUILD_DIR/bench-masking-quick with --masking). It uses the build's dblab-bench (CMake target) when there is one, otherwise it
# compiles bench/dblab_bench.cc into bench/.build. Whatever happens, it stops and removes what the
# benchmark started (engine, postgres servers, btrfs loop mount) in its /tmp work directory.
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench_dir")
build_dir=${DBLAB_BUILD_DIR:-$root/build}

quick=0
masking=0
for arg in "$@"; do
  [[ $arg == --quick ]] && quick=1
  [[ $arg == --masking ]] && masking=1
done
if ((masking && quick)); then
  out=${DBLAB_BENCH_OUT:-$build_dir/bench-masking-quick}
elif ((masking)); then
  out=${DBLAB_BENCH_OUT:-$bench_dir/results/masking}
elif ((quick)); then
  out=${DBLAB_BENCH_OUT:-$build_dir/bench-quick}
else
  out=${DBLAB_BENCH_OUT:-$bench_dir/results}
fi

if [[ $(id -u) != 0 ]]; then
  echo "bench/run.sh: run as root (the engine mounts a btrfs pool)" >&2
  exit 2
fi
engine=$build_dir/dblab-engine
if [[ ! -x $engine ]]; then
  echo "bench/run.sh: $engine not found; build first (scripts/build.sh)" >&2
  exit 2
fi
if ((!masking)) && ! command -v gnuplot >/dev/null; then
  echo "bench/run.sh: gnuplot not found; installing gnuplot-nox" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >&2
fi

bench=$build_dir/dblab-bench
if [[ ! -x $bench || $bench -ot $bench_dir/dblab_bench.cc ]]; then
  bench=$bench_dir/.build/dblab-bench
  if [[ ! -x $bench || $bench -ot $bench_dir/dblab_bench.cc ]]; then
    mkdir -p "$bench_dir/.build"
    echo "bench/run.sh: compiling $bench" >&2
    g++ -std=c++20 -O2 -Wall -Wextra -Wpedantic -Wno-missing-field-initializers -Werror \
      -I/usr/include/postgresql "$bench_dir/dblab_bench.cc" -o "$bench.tmp" -lpq -lcurl -pthread
    mv "$bench.tmp" "$bench"
  fi
fi

# A short path: clone unix sockets live below it (107-byte limit).
work=$(mktemp -d /tmp/dblab-bench.XXXXXX)
chmod 755 "$work"
bench_pid=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ -n $bench_pid ]] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true   # it cleans up itself on SIGTERM
    wait "$bench_pid" 2>/dev/null || true
  fi
  # Backstop, in case dblab-bench was killed hard: engine, postgres servers (by working
  # directory), mounts, loop devices, files. Only what lives under $work.
  local pids=() pid round
  for round in 1 2 3; do
    pids=()
    for pid in /proc/[0-9]*; do
      case "$(readlink "$pid/cwd" 2>/dev/null)" in "$work" | "$work"/*) pids+=("${pid#/proc/}") ;; esac
    done
    ((${#pids[@]})) || break
    kill "-$([[ $round == 1 ]] && echo QUIT || echo KILL)" "${pids[@]}" 2>/dev/null || true
    sleep 1
  done
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount "$mount" 2>/dev/null || umount -l "$mount" || true; done
  losetup -a 2>/dev/null | awk -F: -v w="$work/" 'index($0, w) { print $1 }' |
    while read -r device; do losetup -d "$device" 2>/dev/null || true; done
  if ! awk -v w="$work/" 'index($2, w) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Our own copy of the engine: a rebuild of build/ during the run must not swap it underneath us.
cp "$engine" "$work/dblab-engine"
"$bench" --engine "$work/dblab-engine" --work-dir "$work" --out "$out" "$@" &
bench_pid=$!
set +e
wait "$bench_pid"
rc=$?
set -e
bench_pid=

if ((masking && quick && rc == 0)); then
  # The end-to-end check of --masking: a result file with every number it must show.
  json=$(ls -t "$out"/*-masking-scale1.json | head -1)
  for key in unmasked_retrieval_s masked_retrieval_s ratio_masked_to_unmasked masking_extra_s \
    residue_sample_s masking_updates_s masked_rows_per_s residue_find_originals_s residue_rewrite_s \
    fresh_wal_s gate_s gate_mib masking_cleanup_gate_s masking_cleanup_gate_share_of_masked_retrieval \
    unmasked_residue_steps_s; do
    grep -q "\"$key\": -\?[0-9]" "$json" || { echo "bench/run.sh: $key missing in $json" >&2; rc=1; }
  done
  for key in masked_clone_original_values_found masked_clone_marker_bytes_found; do
    grep -q "\"$key\": 0," "$json" || grep -q "\"$key\": 0\$" "$json" ||
      { echo "bench/run.sh: $key is not 0 in $json" >&2; rc=1; }
  done
  ((rc == 0)) && echo "bench/run.sh --masking --quick: OK ($json)"
elif ((quick && rc == 0)); then
  # The end-to-end check: one result file with every number the benchmark must show, and a plot.
  json=$(ls -t "$out"/*-scale10.json | head -1)
  for key in create_p50_minus_floor_ms reset_p50_minus_floor_ms fresh_clone_disk_exclusive_bytes \
    idle_clone_private_mib status_alive_p99_ms alternative_to_dblab_create_ratio; do
    grep -q "\"$key\": [0-9{-]" "$json" || { echo "bench/run.sh: $key missing in $json" >&2; rc=1; }
  done
  for key in template_wal_log template_file_copy cp_start dump_restore; do
    grep -q "\"$key\": {" "$json" || { echo "bench/run.sh: $key missing in $json" >&2; rc=1; }
  done
  [[ -s $out/clone-time.png ]] || { echo "bench/run.sh: no plot in $out" >&2; rc=1; }
  ((rc == 0)) && echo "bench/run.sh --quick: OK ($json)"
fi
exit "$rc"
