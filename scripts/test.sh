#!/usr/bin/env bash
# Runs every test: unit tests (also under AddressSanitizer + UBSan) and the integration and
# end-to-end tests on real btrfs loop pools and real PostgreSQL servers. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== format (.clang-format) and layering (cmake/layers.cmake, checked again by the build)"
scripts/check-format.sh
tests/layering/check_test.sh

echo "== clang-tidy (.clang-tidy) over src/, on 2 cores"
scripts/check-tidy.sh

echo "== build (scripts/build.sh)"
scripts/build.sh

echo "== unit tests under AddressSanitizer and UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDBLAB_SANITIZE=ON \
  -DDBLAB_WERROR=OFF >/dev/null
ninja -C build-asan dblab_unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/dblab_unit_tests \
  --gtest_brief=1

echo "== fuzzing: HTTP requests, JSON bodies, config, timetables (6 s each)"
scripts/fuzz.sh 6

echo "== web UI: component tests and headless-Chromium end-to-end"
scripts/test-ui.sh

echo "== Debian package: apt install, a clone, apt purge, in a fresh Debian 12 root"
scripts/test-package.sh

echo "== all tests (unit, integration, end-to-end)"
cd build
ctest --output-on-failure --timeout 900 "$@"
