#!/usr/bin/env bash
# Hello world through an isolate against nginx's own "return 200", from
# one nginx on 127.0.0.1: the worker pinned to CPU 0, wrk to CPU 1, the
# two alternated over several rounds.  Prints the median req/s of each
# and the ratio.  Usage: bench/hello.sh [rounds] [seconds per run]

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-5}
SECONDS_PER_RUN=${2:-5}
PORT=${BENCH_PORT:-18080}
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
SO=$ROOT/build/ngx_http_isolate_module.so
DIR=$(mktemp -d /tmp/isolate-bench.XXXXXX)

command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)"; exit 1; }
[ -f "$SO" ] || "$ROOT/build.sh"

mkdir -p "$DIR/logs"
cat > "$DIR/nginx.conf" <<CONF
load_module $SO;
worker_processes 1;
worker_cpu_affinity 01;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$PORT;
        location = /static {
            default_type text/plain;
            return 200 "Hello, World!";
        }
        location = /isolate {
            isolate_script_code 'def call(req)
                [200, {"content-type" => "text/plain"}, ["Hello, World!"]]
            end';
        }
    }
}
CONF

"$NGINX" -p "$DIR/" -c "$DIR/nginx.conf"
trap 'kill -QUIT "$(cat "$DIR/logs/nginx.pid")" 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 0.5

run() {
    taskset -c 1 wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" \
        "http://127.0.0.1:$PORT/$1" | awk '/Requests\/sec/ { print $2 }'
}

run static >/dev/null; run isolate >/dev/null      # warm up

static=(); isolate=()
for i in $(seq "$ROUNDS"); do
    static+=("$(run static)")
    isolate+=("$(run isolate)")
    echo "round $i: static ${static[-1]} isolate ${isolate[-1]}"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

s=$(median "${static[@]}"); m=$(median "${isolate[@]}")
echo "median req/s: static $s, isolate $m"
awk -v s="$s" -v m="$m" 'BEGIN { printf "ratio isolate/static: %.3f\n", m / s }'
