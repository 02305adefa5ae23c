#!/usr/bin/env bash
# Tests the Debian package the way a new user meets it: a fresh Debian 12 root (debootstrap
# --variant=minbase from Debian's archive), `apt install ./dblab_*.deb` (which must pull every
# dependency), the engine started exactly as dblab-engine.service starts it (its ExecStart with
# its EnvironmentFile, inside the root), a clone made with the packaged CLI and used with psql,
# the engine stopped, `apt purge dblab`, and then nothing left: no process, mount or loop device
# of the root, no /var/lib/dblab. Needs root. Usage: scripts/test-package.sh [DEB]
# The minbase root is downloaded once and kept as a tarball in $DBLAB_DEBIAN_ROOT_CACHE
# (default /var/cache/dblab-test/bookworm-minbase.tar.gz).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || { echo "scripts/test-package.sh: run as root" >&2; exit 1; }
started=$(date +%s)
deb=${1:-}
if [[ -z "$deb" ]]; then
  deb=$(scripts/package.sh | tail -n 1)
fi
[[ -f "$deb" ]] || { echo "no package at $deb" >&2; exit 1; }

cache=${DBLAB_DEBIAN_ROOT_CACHE:-/var/cache/dblab-test/bookworm-minbase.tar.gz}
mirror=${DBLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [[ ! -s "$cache" ]]; then
  echo "== debootstrap --variant=minbase bookworm (once; kept in $cache)"
  mkdir -p "$(dirname "$cache")"
  fresh=$(mktemp -d /tmp/dblab-debootstrap-XXXXXX)
  debootstrap --variant=minbase bookworm "$fresh" "$mirror" >"$fresh.log" 2>&1 ||
    { tail -20 "$fresh.log" >&2; rm -rf "$fresh" "$fresh.log"; exit 1; }
  chmod 755 "$fresh"  # mktemp made it 0700; a machine's / is 0755
  tar -C "$fresh" --exclude="./proc/*" --exclude="./sys/*" -czf "$cache.tmp" . && mv "$cache.tmp" "$cache"
  rm -rf "$fresh" "$fresh.log"
fi

work=$(mktemp -d /tmp/dblab-package-test-XXXXXX)
root=$work/root
engine_pid=
# Safety net for a failed run: everything that runs in, is mounted in or loops on the root.
# A process is in the root when its root is, or (a clone server, whose sandbox has a root of its
# own and names its directories as the root does) when the path of its working directory leads,
# inside the root, to that very directory.
processes_in_root() {
  local link target pid seen
  for link in /proc/[0-9]*/root; do
    pid=${link#/proc/}
    pid=${pid%/root}
    target=$(readlink "$link" 2>/dev/null) || continue
    if [[ "$target" == "$root" || "$target" == "$root/"* ]]; then
      echo "$pid"
      continue
    fi
    target=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
    [[ "$target" == /* && "$target" != "$root"* ]] || continue
    seen=$(stat -L -c %d:%i "/proc/$pid/cwd" 2>/dev/null) || continue
    [[ "$seen" == "$(stat -c %d:%i "$root$target" 2>/dev/null)" ]] && echo "$pid"
  done
  return 0
}
mounts_in_root() { awk -v d="$root" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r; }
loops_in_root() { losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v d="$root/" 'index($2, d) == 1 { print $1 }'; }
cleanup() {
  local pids
  for signal in TERM INT KILL; do
    pids=$(processes_in_root)
    [[ -z "$pids" ]] && break
    kill -s "$signal" $pids 2>/dev/null || true
    for _ in $(seq 1 50); do [[ -z "$(processes_in_root)" ]] && break; sleep 0.2; done
  done
  for mount_point in $(mounts_in_root); do umount "$mount_point" 2>/dev/null || umount -l "$mount_point"; done
  for device in $(loops_in_root); do losetup -d "$device" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$root"
tar -C "$root" -xzf "$cache"
chmod 755 "$root"  # also for a cache made before the line above
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"  # no service starts in the root
chmod 755 "$root/usr/sbin/policy-rc.d"
# The root is a mount point of its own, private, as a machine's root is: the engine's sandbox
# makes its mounts private from "/" and pivots from it, neither of which works on a plain directory.
mount --bind "$root" "$root"
mount --make-rprivate "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
# env -i: nothing of the caller's environment leaks in; apt and debconf never ask (without
# DEBIAN_FRONTEND a package's questions, e.g. exim4's, read stdin and fail on /dev/null).
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

echo "== apt install ./$(basename "$deb") in a fresh Debian 12 root"
cp "$deb" "$root/tmp/"
in_root apt-get update -qq
# postgresql-common recommends logrotate, which needs cron, which recommends an MTA: Debian 12's
# current exim4 (4.96-15+deb12u10) fails its configuration in a chroot ("user mail was not
# found"), which is not ours to test. cron comes first without its recommendations; the
# package's own Depends and Recommends are installed as a user's `apt install` would.
in_root apt-get install -y -qq --no-install-recommends cron >"$work/apt-cron.log" 2>&1 ||
  { tail -30 "$work/apt-cron.log" >&2; exit 1; }
t0=$(date +%s)
in_root apt-get install -y -qq "/tmp/$(basename "$deb")" >"$work/apt.log" 2>&1 ||
  { tail -30 "$work/apt.log" >&2; exit 1; }
echo "   installed in $(( $(date +%s) - t0 )) s"
for path in /usr/bin/dblab-engine /usr/bin/dblab /usr/share/dblab/ui/index.html \
  /lib/systemd/system/dblab-engine.service /etc/dblab/server.yml /etc/dblab/engine.env \
  /usr/share/bash-completion/completions/dblab /usr/share/zsh/vendor-completions/_dblab; do
  [[ -e "$root$path" ]] || { echo "FAIL: the package did not install $path" >&2; exit 1; }
done
for secret in /etc/dblab/server.yml /etc/dblab/engine.env; do
  [[ "$(stat -c %a "$root$secret")" == 600 ]] || { echo "FAIL: $secret is not mode 0600" >&2; exit 1; }
done

free_port() {  # a port nothing listens on
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
source_port=$(free_port)
api_port=$(free_port)
clone_from=$(( 40000 + RANDOM % 20000 ))

echo "== a source database in the root (postgres on 127.0.0.1:$source_port)"
in_root install -d -o postgres -g postgres -m 0700 /srv/source
in_root su postgres -s /bin/sh -c \
  "/usr/lib/postgresql/15/bin/initdb -D /srv/source -U postgres --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null"
in_root su postgres -s /bin/sh -c \
  "/usr/lib/postgresql/15/bin/pg_ctl -D /srv/source -l /srv/source/log -w -o '-p $source_port -k /tmp -c listen_addresses=127.0.0.1' start >/dev/null"
in_root su postgres -s /bin/sh -c "psql -h /tmp -p $source_port -q -v ON_ERROR_STOP=1" <<SQL
ALTER ROLE postgres PASSWORD 'package-test-source';
CREATE DATABASE app;
\c app
CREATE TABLE users AS SELECT i AS id, 'person' || i || '@mail.example' AS email FROM generate_series(1, 1000) i;
SQL

echo "== the engine as dblab-engine.service starts it"
# The packaged example config, with the test's source, ports and a small pool image.
sed -i -e "s/^  port: 2345/  port: $api_port/" -e "s/^  imageSize: 20GB/  imageSize: 2GB/" \
  -e "s/^    from: 6000/    from: $clone_from/" -e "s/^    to: 6099/    to: $((clone_from + 9))/" \
  -e "s/^            port: 5432/            port: $source_port/" \
  -e "s/^            dbname: postgres/            dbname: app/" \
  -e "s/^            password: \"\"/            password: package-test-source/" \
  -e "s/^        databases: \[postgres\]/        databases: [app]/" \
  -e "s/^            inline: \"\"/            inline: \"UPDATE users SET email = 'user' || id || '@example.com'\"/" \
  "$root/etc/dblab/server.yml"
unit=$root/lib/systemd/system/dblab-engine.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
environment_file=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")
token=$(sed -n 's/^DBLAB_VERIFICATION_TOKEN=//p' "$root$environment_file")
[[ -n "$token" ]] || { echo "FAIL: no token in $environment_file" >&2; exit 1; }
# shellcheck disable=SC2086  # ExecStart is a command line
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $(cat "$root$environment_file") \
  $exec_start >"$work/engine.log" 2>&1 &
engine_pid=$!

cli() { in_root dblab "$@"; }
cli init --environment-id local --url "http://127.0.0.1:$api_port" --token "$token" >/dev/null
ready=
for _ in $(seq 1 600); do
  if cli snapshot list 2>/dev/null | grep -q '"id"'; then ready=1; break; fi
  kill -0 "$engine_pid" 2>/dev/null || break
  sleep 0.5
done
[[ -n "$ready" ]] || { echo "FAIL: no snapshot"; cat "$work/engine.log"; exit 1; } >&2
clone=$(cli clone create --username alice --password 'wonder-land-42' --id packaged)
clone_port=$(sed -n 's/.*"port": "\([0-9]*\)".*/\1/p' <<<"$clone" | head -n 1)
masked=$(in_root psql "host=127.0.0.1 port=$clone_port user=alice password=wonder-land-42 dbname=app" \
  -Atc "SELECT count(*) FROM users WHERE email LIKE 'user%@example.com'")
[[ "$masked" == 1000 ]] || { echo "FAIL: the clone answered '$masked', not 1000 masked users"; echo "$clone"; exit 1; } >&2
echo "   clone 'packaged' on port $clone_port: 1000 masked users"

echo "== stop the engine (as systemctl stop), then apt purge dblab"
kill -TERM "$engine_pid"
wait "$engine_pid" || true
engine_pid=
in_root su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D /srv/source -m fast -w stop >/dev/null"
[[ -n "$(processes_in_root)" ]] || { echo "FAIL: the clone server should outlive the engine" >&2; exit 1; }
in_root apt-get purge -y -qq dblab >"$work/purge.log" 2>&1 ||
  { cat "$work/purge.log" >&2; exit 1; }

left=$(processes_in_root | while read -r pid; do echo "$pid $(tr '\0' ' ' </proc/$pid/cmdline)"; done)
mounts=$(mounts_in_root | grep -v -x -e "$root" -e "$root/proc" -e "$root/dev" || true)
loops=$(loops_in_root)
status=0
[[ -z "$left" ]] || { echo "FAIL: processes left after purge: $left" >&2; status=1; }
[[ -z "$mounts" ]] || { echo "FAIL: mounts left after purge: $mounts" >&2; status=1; }
[[ -z "$loops" ]] || { echo "FAIL: loop devices left after purge: $loops" >&2; status=1; }
[[ ! -e "$root/var/lib/dblab" ]] || { echo "FAIL: /var/lib/dblab is left after purge" >&2; status=1; }
[[ ! -e "$root/etc/dblab" ]] || { echo "FAIL: /etc/dblab is left after purge" >&2; status=1; }
if ((status)); then cat "$work/purge.log" >&2; exit 1; fi
echo "package test passed in $(( $(date +%s) - started )) s: installed, cloned, purged, nothing left"
