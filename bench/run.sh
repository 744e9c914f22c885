#!/usr/bin/env bash
# The benchmark suite: ours against static nginx, lua-nginx-module, njs,
# Node.js behind proxy_pass and a CGI via fcgiwrap, in hello world, string
# work, compute, cold start, memory per isolate (and reverse proxy, pending).
#
#   bench/run.sh            full run (about 10 minutes)
#   bench/run.sh --quick    short run (under 2 minutes)
#   bench/run.sh --profile hello|strings|compute
#                           only: where ours spends a scenario's requests
#                           (callgrind, self instructions per function)
#
# Prints a Markdown table and writes bench/results/latest.md, latest.tsv
# (every run) and ratios.png.  Installs its Debian packages when missing
# (as root).  Servers listen on 127.0.0.1:18100-18120 only (BENCH_PORT
# moves the range); all are stopped on exit, Ctrl-C included.  The work is
# done by bench/bench.py; BENCH_KEEP=1 keeps its run directory under /tmp.

set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
PACKAGES=(nginx wrk libnginx-mod-http-lua libnginx-mod-http-js fcgiwrap
          gnuplot-nox valgrind python3 curl)

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

MODE=full
EXTRA=()
while [ $# -gt 0 ]; do
    case $1 in
        --quick) MODE=quick ;;
        --full) MODE=full ;;
        --profile) [ $# -ge 2 ] || die "--profile needs hello, strings or compute"
                   EXTRA=(--profile "$2"); shift ;;
        -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (usage: bench/run.sh [--quick] [--profile SCENARIO])" ;;
    esac
    shift
done

# --- dependencies ----------------------------------------------------------

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
        | grep -q 'install ok installed' || missing+=("$p")
done
command -v node >/dev/null || missing+=(nodejs)
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] \
        || die "missing packages; run: sudo apt-get install -y ${missing[*]}"
    log "installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
[ -f "$ROOT/build/ngx_http_isolate_module.so" ] || "$ROOT/build.sh"

# --- run -------------------------------------------------------------------

RUN=$(mktemp -d /tmp/isolate-bench.XXXXXX)
chmod 755 "$RUN"        # the nginx workers (user nobody) reach sockets here

# bench.py stops what it started; this is the safety net.  It stops every
# pid bench.py recorded (with its start time, so a reused pid is left
# alone) that is still running: state Z counts as gone.
cleanup() {
    local pid start st
    if [ -f "$RUN/pids" ]; then
        while read -r pid start; do
            st=$(cut -d' ' -f3,22 "/proc/$pid/stat" 2>/dev/null \
                 || true)           # the command name has no spaces here
            [ -n "$st" ] && [ "${st%% *}" != Z ] && [ "${st#* }" = "$start" ] \
                && kill -KILL "$pid" 2>/dev/null || true
        done < "$RUN/pids"
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        log "run directory kept: $RUN"
    else
        rm -rf "$RUN"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 "$BENCH/bench.py" --mode "$MODE" --run-dir "$RUN" ${EXTRA[@]+"${EXTRA[@]}"}
