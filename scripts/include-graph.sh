#!/usr/bin/env bash
# Writes docs/include-graph.md: each folder of src/, the folders it includes now and the ones
# cmake/layers.cmake allows (the build refuses any other include), and the graph.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -DSOURCE_DIR="$PWD" -DGRAPH_OUT="$PWD/docs/include-graph.md" -P cmake/layering.cmake
echo "wrote docs/include-graph.md"
