#!/usr/bin/env bash
# Measures clone create and reset times (API call to the first successful query as the clone's
# user) on the embedded default with pgbench data at the given scale. Prints medians and p95.
# Usage: sudo bench/clone_times.sh [SCALE=10] [RUNS=10]
set -euo pipefail
scale=${1:-10}
runs=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/dblab-bench-XXXXXX)
chmod 755 "$dir"
port=$((30000 + RANDOM % 10000))
engine_pid=
cleanup() {
  [[ -n $engine_pid ]] && kill "$engine_pid" 2>/dev/null && wait "$engine_pid" 2>/dev/null || true
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    case "$(readlink /proc/$pid/cwd 2>/dev/null)" in "$dir"/*) kill -9 "$pid" 2>/dev/null ;; esac
  done
  sleep 0.5
  umount "$dir/dblab_pool" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
"$root/build/dblab-engine" --data-dir "$dir" --demo-scale "$scale" --demo-users 100000 \
  --port "$port" >"$dir.log" 2>&1 &
engine_pid=$!
token_file=$dir/.dblab-engine/token
url=http://127.0.0.1:$port
for _ in $(seq 1 3000); do
  [[ -s $token_file ]] && curl -sf -H "Verification-Token: $(cat "$token_file")" "$url/snapshots" |
    grep -q '"id"' && break
  sleep 0.2
done
token=$(cat "$token_file")
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_ok() {  # id -> port
  while :; do
    body=$(curl -sf -H "Verification-Token: $token" "$url/clone/$1")
    case "$body" in *'"code":"OK"'*) break ;; *'"code":"FATAL"'*) echo "FATAL: $body" >&2; exit 1 ;; esac
    sleep 0.005
  done
  sed -E 's/.*"port":"([0-9]+)".*/\1/' <<<"$body"
}
first_query() {
  until PGPASSWORD=benchpw psql -h 127.0.0.1 -p "$1" -U bench -d demo -Atqc 'select 1' >/dev/null 2>&1; do
    sleep 0.002
  done
}
creates=()
resets=()
for i in $(seq 1 "$runs"); do
  start=$(now_ms)
  curl -sf -H "Verification-Token: $token" -H 'Content-Type: application/json' \
    -d "{\"id\":\"bench$i\",\"db\":{\"username\":\"bench\",\"password\":\"benchpw\"}}" \
    "$url/clone" >/dev/null
  p=$(wait_ok "bench$i")
  first_query "$p"
  creates+=($(($(now_ms) - start)))
  PGPASSWORD=benchpw psql -h 127.0.0.1 -p "$p" -U bench -d demo -qc \
    'delete from pgbench_history; update pgbench_branches set bbalance = bbalance + 1' >/dev/null
  start=$(now_ms)
  curl -sf -X POST -H "Verification-Token: $token" "$url/clone/bench$i/reset" -d '{}' >/dev/null
  sleep 0.005
  p=$(wait_ok "bench$i")
  first_query "$p"
  resets+=($(($(now_ms) - start)))
  curl -sf -X DELETE -H "Verification-Token: $token" "$url/clone/bench$i" >/dev/null
done
stats() {
  sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2;
    p=v[int(NR*0.95+0.999)]; printf "median %d ms, p95 %d ms, min %d ms, max %d ms (n=%d)\n", m, p, v[1], v[NR], NR}'
}
size=$(du -sh "$dir/dblab_pool/data" 2>/dev/null | cut -f1)
echo "pgbench scale $scale (main data $size), $runs runs, $(nproc) cores"
echo -n "clone create (API call -> first query): "; printf '%s\n' "${creates[@]}" | stats
echo -n "clone reset  (API call -> first query): "; printf '%s\n' "${resets[@]}" | stats
