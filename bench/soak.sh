#!/usr/bin/env bash
# Soak and reload: mixed load over good and failing scripts with two
# workers, then reloads under load.  Not a test: run it by hand
# (./build.sh soak).  Everything listens on 127.0.0.1 and stops by itself.
#
#   SOAK_SECONDS   length of the mixed-load phase (default 600)
#   WARMUP_SECONDS the mixed load before it, not measured (default 60)
#   RELOADS        reloads in the second phase (default 20)
#
# Reports requests and non-2xx responses by status, worker restarts
# (must be 0), worker RSS at the start and the end of the soak and every
# 30 s between (growth, first third against last third, must stay under
# 5 %), and failed requests during the reloads (must be 0).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOAK_SECONDS=${SOAK_SECONDS:-600}
RELOADS=${RELOADS:-20}
PORT=${SOAK_PORT:-18300}
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
SO=$ROOT/build/ngx_http_isolate_module.so
DIR=$(mktemp -d /tmp/isolate-soak.XXXXXX)

command -v wrk >/dev/null || { echo "soak: needs wrk (apt-get install wrk)"; exit 1; }
[ -f "$SO" ] || "$ROOT/build.sh"

mkdir -p "$DIR/logs"
cat > "$DIR/nginx.conf" <<CONF
load_module $SO;
worker_processes 2;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    isolate_pool 4;
    server {
        listen 127.0.0.1:$PORT;
        location = /good {
            isolate_script_code 'def call(req) = [200, {}, ["Hello, World!"]]';
        }
        location = /work {
            isolate_script_code 'CACHE = {}
                def call(req)
                  name = req.params.fetch("name", "anon")
                  CACHE[name] = (CACHE[name] || 0) + 1
                  CACHE.shift if CACHE.size > 1000
                  body = ["hi ", name, " ", req.headers["user-agent"].to_s,
                          " #", CACHE[name].to_s]
                  [200, {"content-type" => "text/plain"}, body]
                end';
        }
        location = /raise {
            isolate_script_code 'def call(req) = raise("soak failure")';
        }
        location = /spin {
            isolate_cpu_limit 5ms;
            isolate_script_code 'def call(req) = loop {}';
        }
        location = /bomb {
            isolate_memory_limit 1m;
            isolate_cpu_limit off;
            isolate_script_code 'def call(req)
                s = "x"
                loop { s += s }
            end';
        }
    }
}
CONF

# wrk: a weighted mix of paths; counts responses by status
cat > "$DIR/mix.lua" <<'LUA'
local paths = {}
local weights = { ["/good"] = 50, ["/work?name=a"] = 15, ["/work?name=b"] = 15,
                  ["/raise"] = 10, ["/spin"] = 5, ["/bomb"] = 5 }
for p, w in pairs(weights) do for _ = 1, w do paths[#paths + 1] = p end end
counts = {}
local threads = {}
function setup(thread) threads[#threads + 1] = thread; thread:set("id", #threads) end
function init() counts = {} end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function response(status) counts[status] = (counts[status] or 0) + 1 end
function done()
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for s, n in pairs(c) do total[s] = (total[s] or 0) + n end
  end
  for s, n in pairs(total) do io.write(string.format("status %d: %d\n", s, n)) end
end
LUA

master_pid() { cat "$DIR/logs/nginx.pid"; }
workers() { pgrep -P "$(master_pid)" | sort; }
rss_kb() {
    local total=0 pid
    for pid in $(workers); do
        total=$((total + $(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")))
    done
    echo "$total"
}
stop() {
    local pid
    pid=$(cat "$DIR/logs/nginx.pid" 2>/dev/null) || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    # exit is seen in /proc, not kill -0: init reaps late here
    for _ in $(seq 100); do
        [ -r "/proc/$pid/stat" ] || break
        [ "$(awk '{ print $3 }' "/proc/$pid/stat")" = Z ] && break
        sleep 0.1
    done
}
trap 'stop; rm -rf "$DIR"' EXIT

"$NGINX" -p "$DIR/" -c "$DIR/nginx.conf"
sleep 1

# warm up: every isolate created, heaps and malloc's arenas at their
# working size
wrk -t2 -c16 -d"${WARMUP_SECONDS:-60}s" -s "$DIR/mix.lua" \
    "http://127.0.0.1:$PORT" >/dev/null
workers_before=$(workers | tr '\n' ' ')
rss_start=$(rss_kb)

# RSS every 30 s of the soak: an isolate in the middle of a memory bomb
# holds up to its 1m limit, and malloc keeps what it freed, so a single
# reading moves by a megabyte or two either way; a leak is a trend
(
    while sleep 30; do
        rss_kb
    done
) > "$DIR/rss.samples" 2>/dev/null &
sampler=$!

echo "== soak: ${SOAK_SECONDS}s of mixed load, 2 workers (pids $workers_before)"
wrk -t2 -c32 -d"${SOAK_SECONDS}s" -s "$DIR/mix.lua" \
    "http://127.0.0.1:$PORT" | tee "$DIR/soak.out" \
    | grep -E "requests in|Non-2xx|Socket errors|^status"

kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
workers_after=$(workers | tr '\n' ' ')
rss_end=$(rss_kb)
crashes=$(grep -c "exited on signal" "$DIR/logs/error.log" || true)

echo "worker pids before: $workers_before after: $workers_after"
echo "workers exited on a signal: $crashes"
awk -v a="$rss_start" -v b="$rss_end" 'BEGIN {
    printf "worker RSS: %d KB at start, %d KB at end (%+.2f %%)\n",
           a, b, (b - a) * 100 / a }'
echo "worker RSS every 30 s (KB): $(tr '\n' ' ' < "$DIR/rss.samples")"

# growth: the median of the last third of the samples over the median
# of the first third
sort_median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
n=$(wc -l < "$DIR/rss.samples")
third=$(( n / 3 > 0 ? n / 3 : 1 ))
first=$(head -n "$third" "$DIR/rss.samples" | sort_median)
last=$(tail -n "$third" "$DIR/rss.samples" | sort_median)
awk -v a="$first" -v b="$last" -v k="$third" 'BEGIN {
    printf "worker RSS growth (median of the last %d samples over the first %d): %d KB -> %d KB, %+.2f %%\n",
           k, k, a, b, (b - a) * 100 / a }'

echo "== reloads: $RELOADS reloads under load (new connection per request)"
wrk -t2 -c16 -d"$((RELOADS + 10))s" -H "Connection: close" \
    "http://127.0.0.1:$PORT/good" > "$DIR/reload.out" &
wrk_pid=$!
sleep 3
for i in $(seq "$RELOADS"); do
    "$NGINX" -p "$DIR/" -c "$DIR/nginx.conf" -s reload
    sleep 1
done
wait "$wrk_pid"
grep -E "requests in|Non-2xx|Socket errors" "$DIR/reload.out" || true
failed=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ {
                 for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i }
              END { print n + 0 }' "$DIR/reload.out")
echo "failed requests during reloads: $failed"
echo "workers exited on a signal, in all: $(grep -c "exited on signal" "$DIR/logs/error.log" || true)"
