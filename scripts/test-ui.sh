#!/usr/bin/env bash
# Tests the web UI: Vitest component tests, the production build (ui/dist, served by the engine
# at /), and the end-to-end test: headless Chromium (playwright-core driving Debian's chromium)
# against a real dblab-engine with a real btrfs pool and real PostgreSQL servers.
# Needs root (the engine mounts its pool) and build/dblab-engine (scripts/build.sh).
# Prints "N passed, M failed" (Vitest + end-to-end tests) as its last line.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [[ $EUID -ne 0 ]]; then
  echo "scripts/test-ui.sh: run as root (the end-to-end test starts dblab-engine)" >&2
  exit 1
fi
if ! command -v chromium >/dev/null; then
  echo "== installing chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  } || { echo "cannot install chromium" >&2; exit 1; }
fi
if [[ ! -x build/dblab-engine ]]; then
  echo "build/dblab-engine is missing: run scripts/build.sh first" >&2
  exit 1
fi

E2E_DIR=$(mktemp -d /tmp/dblab-ui-XXXXXX)
chmod 755 "$E2E_DIR"
REPORTS=$(mktemp -d /tmp/dblab-ui-reports-XXXXXX)

# Safety net: the e2e test cleans up after itself; this also covers a killed or crashed run.
cleanup() {
  local dir pid
  dir=$(realpath -m "$E2E_DIR")
  if [[ -f "$dir/.engine-pid" ]]; then
    pid=$(cat "$dir/.engine-pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  # Clone servers and the demo source are detached from the engine: find them by cwd.
  postgres_under() {
    find /proc -mindepth 2 -maxdepth 2 -name cwd \( -lname "$dir" -o -lname "$dir/*" \) 2>/dev/null |
      while read -r link; do
        p=${link%/cwd}
        [[ "$(cat "$p/comm" 2>/dev/null)" == postgres* ]] && echo "${p#/proc/}"
      done
  }
  for pid in $(postgres_under); do kill -INT "$pid" 2>/dev/null; done
  for _ in $(seq 1 75); do [[ -z "$(postgres_under)" ]] && break; sleep 0.2; done
  for pid in $(postgres_under); do kill -KILL "$pid" 2>/dev/null; done
  # Unmount everything under the dir (the btrfs loop pool); the loop device auto-clears.
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount_point; do umount "$mount_point" 2>/dev/null || umount -l "$mount_point"; done
  rm -rf "$dir" "$REPORTS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status=0
cd ui
echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error || exit 1

echo "== component tests (Vitest)"
npx vitest run --reporter=default --reporter=json --outputFile="$REPORTS/unit.json" || status=1

echo "== build (tsc + vite) -> ui/dist"
npm run build || exit 1

echo "== end-to-end tests (headless chromium, real engine in $E2E_DIR)"
DBLAB_UI_E2E_DIR="$E2E_DIR" DBLAB_ENGINE="$ROOT/build/dblab-engine" \
  npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json \
  --outputFile="$REPORTS/e2e.json" || status=1

summary=$(node -e '
  let passed = 0, failed = 0;
  for (const file of process.argv.slice(1)) {
    try {
      const r = JSON.parse(require("fs").readFileSync(file, "utf8"));
      passed += r.numPassedTests;
      failed += r.numFailedTests + (r.numTotalTests === 0 || r.success === false && r.numFailedTests === 0 ? 1 : 0);
    } catch { failed += 1; }
  }
  console.log(`${passed} passed, ${failed} failed`);
' "$REPORTS/unit.json" "$REPORTS/e2e.json")
cd "$ROOT"
cleanup
trap - EXIT
[[ "$summary" == *", 0 failed" ]] || status=1
echo "$summary"
exit $status
