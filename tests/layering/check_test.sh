#!/usr/bin/env bash
# The layering check (cmake/layering.cmake) as the build runs it: it passes on src/ as it is,
# refuses an include that crosses the table with one line naming the file, the include and what
# the folder may use, refuses a folder the table does not know, and docs/include-graph.md is
# what scripts/include-graph.sh writes today; the sources fuzz/CMakeLists.txt lists exist.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/dblab-layering-XXXXXX)
trap 'rm -rf "$work"' EXIT
check() { cmake -DSOURCE_DIR="$1" -P "$repo/cmake/layering.cmake" >"$work/out" 2>&1; }
fail() { echo "FAIL: $*"; cat "$work/out"; exit 1; }

check "$repo" || fail "src/ as it is should pass"

mkdir -p "$work/bad/src/storage" "$work/bad/src/engine"
printf '#include "engine/engine.h"\n' >"$work/bad/src/storage/pool.h"
printf '#include "storage/pool.h"\n' >"$work/bad/src/engine/engine.h"
if check "$work/bad"; then fail "storage including engine should fail"; fi
grep -q 'src/storage/pool.h: #include "engine/engine.h": storage/ may include only common, domain, platform' \
  "$work/out" || fail "the message should name the file, the include and the allowed folders"
grep -q 'src/engine/engine.h' "$work/out" && fail "engine including storage is allowed"

printf '// a test may include anything\n#include "engine/engine.h"\n' >"$work/bad/src/storage/pool_test.cc"
rm "$work/bad/src/storage/pool.h"
check "$work/bad" || fail "tests are not checked"

mkdir -p "$work/bad/src/newthing"
if check "$work/bad"; then fail "an unknown folder should fail"; fi
grep -q 'src/newthing/: a folder cmake/layering.cmake does not know' "$work/out" ||
  fail "the message should name the unknown folder"

cmake -DSOURCE_DIR="$repo" -DGRAPH_OUT="$work/graph.md" -P "$repo/cmake/layering.cmake"
diff -u "$repo/docs/include-graph.md" "$work/graph.md" >"$work/out" ||
  fail "docs/include-graph.md is stale: run scripts/include-graph.sh"
# The fuzz project (fuzz/CMakeLists.txt) lists sources by hand: each must still exist.
grep -o '${DBLAB_SRC}/[a-z_/]*\.cc' "$repo/fuzz/CMakeLists.txt" | sed 's|${DBLAB_SRC}|src|' |
  while read -r source; do
    [[ -f "$repo/$source" ]] || { echo "FAIL: fuzz/CMakeLists.txt lists $source, which is gone"; exit 1; }
  done
echo "layering check: ok"
