#!/usr/bin/env bash
# Installs the system packages fcgate's integration tests (and, with --bench, its
# benchmarks) need, and only those that are missing. Debian 12 (PHP 8.2) or 13 (PHP 8.4):
# the PHP version is never named, apt's `php-fpm` picks the distribution's.
# It never starts a service: a policy-rc.d that answers 101 ("action forbidden") stands
# in place while apt runs, and the previous one (if any) is put back afterwards.
#
# On a system whose C library is older than 2.38 (Debian 12), it also fetches Debian 13's
# libc6 .deb and extracts it (dpkg -x, never installed) into .test-deps/libc6-trixie, so
# that the uWS behaviour suite can run the newer uWebSockets.js build under it (test-only:
# native-notes/uws.md §1). The download uses a private apt state: the system's sources,
# lists and packages are untouched, and its libc is never upgraded.
#
# Usage: scripts/install-deps.sh [--bench] [--check]
#   --bench   also nginx, apache2 (with mod_proxy_fcgi), wrk and time for scripts/ benchmarks
#   --check   only report what is missing; exit 1 if anything is
# FCGATE_TEST_LIBC_DIR overrides where the extracted libc goes (default .test-deps/libc6-trixie).
set -euo pipefail

want_bench=0
check_only=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    --check) check_only=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown flag: $arg" >&2; exit 2 ;;
  esac
done

# php-fpm is installed as php-fpmX.Y in /usr/sbin, which is not always on a user's PATH.
have_php_fpm() {
  local d f
  for d in ${PATH//:/ } /usr/sbin /usr/local/sbin; do
    for f in "$d"/php-fpm "$d"/php-fpm[0-9]*; do
      [ -x "$f" ] && return 0
    done
  done
  return 1
}
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
have_php_fpm || missing+=(php-fpm)
have cgi-fcgi || missing+=(libfcgi-bin)
# headless Chromium for the balancer manager's browser test (test/integration/balancer-manager.test.ts)
have chromium || missing+=(chromium)
# contrib/ checks (test/integration/contrib.test.ts): systemd-analyze verifies the unit
# without systemd running; logrotate rotates with the snippet
have systemd-analyze || missing+=(systemd)
have logrotate || missing+=(logrotate)
# Prometheus (and promtool) for the metrics scrape test (test/integration/metrics-prometheus.test.ts)
have prometheus || missing+=(prometheus)
# fcgiwrap: a one-process FastCGI app that does not answer FCGI_GET_VALUES (real-clients-small-pools)
have fcgiwrap || missing+=(fcgiwrap)
# nginx as an HTTP/2 terminator in front of fcgate (test/integration/http2-front.test.ts), and for the benchmarks
have nginx || missing+=(nginx)
# Go, to build a net/http/fcgi app that multiplexes (test/integration/gateway-go-fcgi.test.ts)
have go || missing+=(golang-go)
if [ "$want_bench" = 1 ]; then
  have apache2 || missing+=(apache2)
  have wrk || missing+=(wrk)
  # /usr/bin/time (not the shell keyword): wrk's CPU time in scripts/bench-accuracy.mjs
  [ -x /usr/bin/time ] || missing+=(time)
fi

# ---- Debian 13's C library for the newer uWebSockets.js build (test-only) -------------
root="$(cd "$(dirname "$0")/.." && pwd)"
libc_dir="${FCGATE_TEST_LIBC_DIR:-$root/.test-deps/libc6-trixie}"
case "$(dpkg --print-architecture 2>/dev/null || uname -m)" in
  amd64|x86_64) multiarch=x86_64-linux-gnu; ldso=ld-linux-x86-64.so.2 ;;
  arm64|aarch64) multiarch=aarch64-linux-gnu; ldso=ld-linux-aarch64.so.1 ;;
  *) multiarch=""; ldso="" ;;
esac
glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"
# sort -V: is the system's glibc older than 2.38?
glibc_old() { [ -n "$glibc" ] && [ "$(printf '%s\n2.38\n' "$glibc" | sort -V | head -n1)" != 2.38 ]; }
want_libc=0
if [ -n "$ldso" ] && glibc_old && [ ! -x "$libc_dir/usr/lib/$multiarch/$ldso" ]; then want_libc=1; fi

# Downloads libc6 from the trixie suite with apt's own signature and hash checks, using a
# private sources list, lists and cache (nothing of the system's apt state is read or
# written besides the archive keyring), then extracts it. The upstream version must be 2.41.
fetch_trixie_libc() {
  local tmp; tmp="$(mktemp -d)"
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/deb"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    > "$tmp/sources.list"
  local opts=(-q -o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o Acquire::Languages=none
    -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
  apt-get "${opts[@]}" update >/dev/null
  (cd "$tmp/deb" && apt-get "${opts[@]}" download libc6 >/dev/null)
  local deb; deb="$(ls "$tmp"/deb/libc6_*.deb)"
  local version; version="$(dpkg-deb -f "$deb" Version)"
  case "$version" in
    2.41-*) ;;
    *) echo "install-deps: trixie's libc6 is $version, expected 2.41-*" >&2; rm -rf "$tmp"; return 1 ;;
  esac
  rm -rf "$libc_dir"
  mkdir -p "$libc_dir"
  dpkg -x "$deb" "$libc_dir"
  printf '%s %s\n' "$(basename "$deb")" "$(sha256sum "$deb" | cut -d' ' -f1)" > "$libc_dir/SOURCE"
  rm -rf "$tmp"
  echo "install-deps: extracted $(basename "$deb") into $libc_dir (test-only; the system's glibc $glibc is untouched)"
}

if [ "${#missing[@]}" -eq 0 ] && [ "$want_libc" = 0 ]; then
  echo "install-deps: nothing missing"
  exit 0
fi
[ "${#missing[@]}" -eq 0 ] || echo "install-deps: missing packages: ${missing[*]}"
[ "$want_libc" = 0 ] || echo "install-deps: missing: Debian 13 libc6 in $libc_dir (glibc $glibc < 2.38; for the newer uWebSockets.js build's tests)"
if [ "$check_only" = 1 ]; then exit 1; fi
if [ "${#missing[@]}" -eq 0 ]; then
  fetch_trixie_libc
  exit 0
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "install-deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: no apt-get; install by hand: ${missing[*]}" >&2
  exit 1
fi

# Forbid service starts while apt runs (invoke-rc.d consults /usr/sbin/policy-rc.d).
policy=/usr/sbin/policy-rc.d
backup=""
restore_policy() {
  if [ -n "$backup" ]; then
    "${SUDO[@]}" mv -f "$backup" "$policy"
  else
    "${SUDO[@]}" rm -f "$policy"
  fi
}
if [ -e "$policy" ]; then
  backup="$(mktemp /usr/sbin/policy-rc.d.fcgate.XXXXXX 2>/dev/null || echo "$policy.fcgate-backup")"
  "${SUDO[@]}" cp -p "$policy" "$backup"
fi
trap restore_policy EXIT
printf '#!/bin/sh\n# installed by fcgate scripts/install-deps.sh while apt runs\nexit 101\n' \
  | "${SUDO[@]}" tee "$policy" >/dev/null
"${SUDO[@]}" chmod 755 "$policy"

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}"

if [ "$want_bench" = 1 ] && have apache2; then
  # mod_proxy_fcgi is in the apache2 package but not enabled by default.
  "${SUDO[@]}" a2enmod -q proxy proxy_fcgi >/dev/null 2>&1 || true
fi

still=()
have_php_fpm || still+=(php-fpm)
have cgi-fcgi || still+=(cgi-fcgi)
have systemd-analyze || still+=(systemd-analyze)
have logrotate || still+=(logrotate)
have prometheus || still+=(prometheus)
have fcgiwrap || still+=(fcgiwrap)
if [ "${#still[@]}" -ne 0 ]; then
  echo "install-deps: still missing after install: ${still[*]}" >&2
  exit 1
fi
echo "install-deps: installed ${missing[*]}"
if [ "$want_libc" = 1 ]; then fetch_trixie_libc; fi
