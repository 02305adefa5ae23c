#!/usr/bin/env bash
# Installs every Debian 12 package dblab needs to build, run and test. Idempotent.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libcurl4-openssl-dev libssl-dev libbtrfsutil-dev libsqlite3-dev libpq-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  btrfs-progs xfsprogs zfs-fuse util-linux postgresql-15 postgresql-client-15 gnuplot-nox curl
  # libFuzzer targets (scripts/fuzz.sh)
  clang-14
  libclang-rt-14-dev
)
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
# The Debian package starts a default cluster on 5432; dblab does not need it.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_ctlcluster 15 main stop 2>/dev/null || true
fi
id postgres >/dev/null
