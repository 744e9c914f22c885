#!/usr/bin/env bash
# Two locations of one nginx on 127.0.0.1, side by side: the worker
# pinned to CPU 0, wrk to CPU 1, the two alternated over several rounds.
# Prints the median req/s of each and the ratio B/A.
#
#   bench/pair.sh hello [rounds] [seconds]      "return 200" (A) against
#                                               hello world in an isolate (B)
#   bench/pair.sh cpu-limit [rounds] [seconds]  fib(20) per request with
#                                               isolate_cpu_limit off (A)
#                                               and 1s (B)

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=${1:-hello}
ROUNDS=${2:-5}
SECONDS_PER_RUN=${3:-5}
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
        location = /hello-static {
            default_type text/plain;
            return 200 "Hello, World!";
        }
        location = /hello-isolate {
            isolate_script_code 'def call(req)
                [200, {"content-type" => "text/plain"}, ["Hello, World!"]]
            end';
        }
        location = /cpu-limit-off {
            isolate_cpu_limit off;
            isolate_script_code 'def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)
                def call(req) = [200, {}, [fib(20).to_s]]';
        }
        location = /cpu-limit-on {
            isolate_cpu_limit 1s;
            isolate_script_code 'def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)
                def call(req) = [200, {}, [fib(20).to_s]]';
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

case $MODE in
    hello)     A=hello-static;  B=hello-isolate ;;
    cpu-limit) A=cpu-limit-off; B=cpu-limit-on ;;
    *)         echo "bench: unknown mode '$MODE' (hello, cpu-limit)"; exit 1 ;;
esac

run "$A" >/dev/null; run "$B" >/dev/null      # warm up

a=(); b=()
for i in $(seq "$ROUNDS"); do
    a+=("$(run "$A")")
    b+=("$(run "$B")")
    echo "round $i: $A ${a[-1]} $B ${b[-1]}"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
echo "median req/s: $A $ma, $B $mb"
awk -v a="$ma" -v b="$mb" -v n="$B/$A" 'BEGIN { printf "ratio %s: %.3f\n", n, b / a }'
