#!/usr/bin/env bash
# Configures and builds dblab into ./build (binaries: build/dblab-engine, build/dblab).
# Without arguments it builds everything, tests and benchmark included; with --engine-only just
# what the engine needs (the engine, the CLI, the web UI when configured, the layering check).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
if [[ ${1:-} == --engine-only ]]; then
  targets=(layering dblab-engine dblab)
  if ninja -C build -t targets all | grep -q '^dblab_ui:'; then targets+=(dblab_ui); fi
fi
ninja -C build "${targets[@]}"
