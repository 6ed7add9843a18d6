#!/usr/bin/env bash
# Installs the system packages fcgate's integration tests (and, with --bench, its
# benchmarks) need, and only those that are missing. Debian 12 (PHP 8.2) or 13 (PHP 8.4):
# the PHP version is never named, apt's `php-fpm` picks the distribution's.
# It never starts a service: a policy-rc.d that answers 101 ("action forbidden") stands
# in place while apt runs, and the previous one (if any) is put back afterwards.
#
# Usage: scripts/install-deps.sh [--bench] [--check]
#   --bench   also nginx, apache2 (with mod_proxy_fcgi), wrk and time for scripts/ benchmarks
#   --check   only report what is missing; exit 1 if anything is
set -euo pipefail

want_bench=0
check_only=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    --check) check_only=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
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
if [ "$want_bench" = 1 ]; then
  have nginx || missing+=(nginx)
  have apache2 || missing+=(apache2)
  have wrk || missing+=(wrk)
  # /usr/bin/time (not the shell keyword): wrk's CPU time in scripts/bench-accuracy.mjs
  [ -x /usr/bin/time ] || missing+=(time)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: nothing missing"
  exit 0
fi
echo "install-deps: missing packages: ${missing[*]}"
if [ "$check_only" = 1 ]; then exit 1; fi

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
