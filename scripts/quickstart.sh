#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running engine on the embedded default:
# installs dependencies, builds, and starts dblab-engine with a demo source it creates itself.
# Extra arguments go to dblab-engine (e.g. --data-dir /srv/dblab --demo-scale 5).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $EUID -ne 0 ]]; then
  echo "run as root (sudo $0): dblab-engine mounts its pool and starts postgres as 'postgres'" >&2
  exit 1
fi
scripts/install-deps.sh
scripts/build.sh --engine-only  # the tests and the benchmark are built by scripts/test.sh
ln -sf "$PWD/build/dblab" /usr/local/bin/dblab
exec build/dblab-engine "$@"
