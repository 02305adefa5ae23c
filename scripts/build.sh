#!/usr/bin/env bash
# Configures and builds dblab into ./build (binaries: build/dblab-engine, build/dblab).
# Arguments are ninja targets (default: everything, tests and benchmark included).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build "$@"
