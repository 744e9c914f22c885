#!/usr/bin/env python3
"""The benchmark suite behind bench/run.sh (which installs the packages and
makes the run directory; run that, not this).

Contestants, each its own nginx on 127.0.0.1 with one worker pinned to
CPU 0, loaded by wrk pinned to CPU 1, alternated in rounds:

    static   nginx `return 200`             isolate  ours (mruby isolates)
    lua      lua-nginx-module (LuaJIT)      njs      njs js_content
    node     Node.js behind proxy_pass      cgi      a shell CGI via fcgiwrap

Scenarios: 1 hello world, 2 string work, 3 compute (fib(20)), 4 cold start,
5 memory per isolate, 6 reverse proxy (pending).  Besides req/s, the
worker's CPU time per request (/proc/PID/stat) and, under callgrind,
instructions per request: (Ir(N2) - Ir(N1)) / (N2 - N1), so start-up and
shutdown cancel out.
"""

import argparse
import datetime
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

import client

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
SO = os.path.join(ROOT, "build", "ngx_http_isolate_module.so")
NGINX = os.environ.get("NGINX_BINARY", "/usr/sbin/nginx")
BASE_PORT = int(os.environ.get("BENCH_PORT", "18100"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

MODES = {
    # rounds x seconds per wrk run; warm-up per contestant (0: a few
    # requests only); cold-start scripts; callgrind request counts (N1, N2)
    # per scenario; callgrind scenarios
    "quick": dict(rounds=3, seconds=1, warmup=0, cold_n=200,
                  mem_n=(1000, 10000),
                  cg={"hello": (200, 1200)}),
    "full": dict(rounds=5, seconds=5, warmup=2, cold_n=1000,
                 mem_n=(1000, 10000),
                 cg={"hello": (200, 1200), "strings": (200, 1200),
                     "compute": (10, 60)}),
}
WRK_THREADS, WRK_CONNECTIONS = 1, 32


class Contestant:
    def __init__(self, key, label, port):
        self.key, self.label, self.port = key, label, port
        self.proc = None        # the nginx master (our child)
        self.worker = None      # its one worker's pid


CONTESTANTS = [
    Contestant("static", "static nginx (`return 200`)", BASE_PORT + 0),
    Contestant("isolate", "**ours** (isolate, mruby)", BASE_PORT + 1),
    Contestant("lua", "lua-nginx-module (LuaJIT)", BASE_PORT + 2),
    Contestant("njs", "njs (`js_content`)", BASE_PORT + 3),
    Contestant("node", "Node.js via `proxy_pass`", BASE_PORT + 4),
    Contestant("cgi", "CGI (sh) via fcgiwrap", BASE_PORT + 6),
]
BY_KEY = {c.key: c for c in CONTESTANTS}
NODE_PORT = BASE_PORT + 5           # the Node.js server itself
CG_PORT = BASE_PORT + 10            # nginx under callgrind
SCRIPTS_PORT = BASE_PORT + 20       # the N-scripts nginx (cold start, memory)

STRINGS_HEADERS = ["User-Agent: bench/1.0", "X-Client: wrk",
                   "Accept-Language: en-US,en;q=0.9"]


class Scenario:
    def __init__(self, key, label, path, headers, expect, contestants):
        self.key, self.label, self.path = key, label, path
        self.headers, self.expect = headers, expect.encode()
        self.contestants = contestants


SCENARIOS = [
    Scenario("hello", "1. hello world", "/hello", [], "Hello, World!",
             ["static", "isolate", "lua", "njs", "node", "cgi"]),
    Scenario("strings", "2. string work",
             "/strings?name=World&greeting=Hello&count=3&lang=en-US",
             STRINGS_HEADERS,
             "Hello, World!\n"
             "args: count=3, greeting=Hello, lang=en-US, name=World\n"
             "shout: WORLD-WORLD-WORLD\n"
             "agent: bench/1.0 via wrk (en-US)\n"
             "reversed: dlroW\n",
             ["isolate", "lua", "njs", "node"]),
    Scenario("compute", "3. compute: fib(20)", "/compute", [],
             "fib(20) = 6765\n", ["isolate", "lua", "njs", "node"]),
]
BY_SCENARIO = {s.key: s for s in SCENARIOS}


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


# --- processes ---------------------------------------------------------------
#
# Everything is started as our own child (nginx with `daemon off`), so we
# wait on it directly.  An nginx worker is a grandchild: its end is seen as
# /proc/PID/stat state Z or no /proc entry (this machine's init reaps
# orphans late, so kill -0 would lie).  Every pid is also written to
# RUN/pids with its start time, for run.sh's EXIT trap.

def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rindex(")") + 2:].split()


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def cpu_ticks(pid, children=False):
    """utime + stime (+ cutime + cstime of waited-for children) in ticks."""
    st = proc_stat(pid)
    if st is None:
        return 0
    n = int(st[11]) + int(st[12])       # fields 14 and 15
    if children:
        n += int(st[13]) + int(st[14])  # fields 16 and 17
    return n


def cpu_stat():
    """Per CPU: (ticks spent by tasks, plus steal; all ticks), /proc/stat."""
    out = []
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                # user nice system idle iowait irq softirq steal
                v = [int(x) for x in line.split()[1:9]]
                out.append((v[0] + v[1] + v[2] + v[7], sum(v)))
    return out


def children_ticks():
    """CPU ticks of our waited-for children (wrk, here)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * CLK_TCK


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child_pids(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and int(st[1]) == pid and st[0] not in ("Z", "X"):
                out.append(int(d))
    return out


class Procs:
    def __init__(self, run):
        self.run = run
        self.children = []      # Popen objects
        self.others = []        # pids we did not fork (nginx workers)

    def _record(self, pid):
        st = proc_stat(pid)
        with open(os.path.join(self.run, "pids"), "a") as f:
            f.write("%d %s\n" % (pid, st[19] if st else "0"))

    def spawn(self, cmd, logfile, umask=None):
        out = open(logfile, "ab")
        pre = (lambda: os.umask(umask)) if umask is not None else None
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, preexec_fn=pre)
        out.close()
        self.children.append(p)
        self._record(p.pid)
        return p

    def adopt(self, pid):
        self.others.append(pid)
        self._record(pid)

    def stop(self, p, sig=signal.SIGTERM, timeout=30):
        """Signal our child p and wait for it; SIGKILL after timeout.  The
        signal is repeated every 0.25 s: under valgrind, one that lands
        just as nginx enters epoll_wait is sometimes not seen."""
        deadline = time.time() + timeout
        while p.poll() is None and time.time() < deadline:
            p.send_signal(sig)
            try:
                p.wait(0.25)
            except subprocess.TimeoutExpired:
                pass
        if p.poll() is None:
            p.kill()
            p.wait(10)
        if p in self.children:
            self.children.remove(p)

    def stop_all(self):
        for p in reversed(list(self.children)):
            self.stop(p, timeout=10)
        for pid in self.others:         # workers outliving their master
            deadline = time.time() + 5
            while alive(pid) and time.time() < deadline:
                time.sleep(0.05)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.others = []


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def wait_until(cond, p, what, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        if p is not None and p.poll() is not None:
            raise RuntimeError("%s exited early (status %s)"
                               % (what, p.returncode))
        time.sleep(0.05)
    raise RuntimeError("%s: not ready after %ds" % (what, timeout))


# --- nginx -------------------------------------------------------------------

def nginx_dir(run, name):
    d = os.path.join(run, name)
    os.makedirs(d, exist_ok=True)
    return d


def write_nginx_conf(run, name, port, template_text, master=True,
                     error_level="warn", http_extra=""):
    """Writes RUN/name/{main.inc,http.inc,nginx.conf}; returns the conf."""
    d = nginx_dir(run, name)
    with open(os.path.join(d, "main.inc"), "w") as f:
        f.write("worker_processes 1;\n"
                "worker_cpu_affinity 01;\n"
                "master_process %s;\n"
                "daemon off;\n"
                "pid %s/nginx.pid;\n"
                "error_log %s/error.log %s;\n"
                "events { worker_connections 4096; }\n"
                % ("on" if master else "off", d, d, error_level))
    with open(os.path.join(d, "http.inc"), "w") as f:
        f.write("access_log off;\n"
                "default_type text/plain;\n"
                "keepalive_requests 1000000;\n")
        for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            f.write("%s_temp_path %s/%s_temp;\n" % (t, d, t))
        f.write(http_extra)
    text = (template_text.replace("@RUN@", d).replace("@PORT@", str(port))
            .replace("@BENCH@", BENCH).replace("@SO@", SO)
            .replace("@NODE_PORT@", str(NODE_PORT)))
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(text)
    return conf


def template(key):
    with open(os.path.join(BENCH, "conf", key + ".conf")) as f:
        return f.read()


def nginx_cmd(conf):
    d = os.path.dirname(conf)
    return [NGINX, "-p", d + "/", "-c", conf, "-e", d + "/startup.log"]


def start_nginx(procs, conf, port, name, master=True, prefix=(),
                timeout=30):
    """Starts nginx on conf (as our child); returns (proc, worker pid)."""
    if port_open(port):
        raise RuntimeError("port %d is already in use" % port)
    p = procs.spawn(list(prefix) + nginx_cmd(conf),
                    os.path.join(os.path.dirname(conf), "stdout.log"))
    wait_until(lambda: port_open(port), p, "nginx " + name, timeout)
    if not master:
        return p, p.pid
    wait_until(lambda: child_pids(p.pid), p, "nginx %s worker" % name, 10)
    worker = child_pids(p.pid)[0]
    procs.adopt(worker)
    return p, worker


# --- load --------------------------------------------------------------------

def wrk(port, path, seconds, headers=()):
    cmd = ["taskset", "-c", "1", "wrk", "-t%d" % WRK_THREADS,
           "-c%d" % WRK_CONNECTIONS, "-d%ds" % seconds]
    for h in headers:
        cmd += ["-H", h]
    cmd.append("http://127.0.0.1:%d%s" % (port, path))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         timeout=seconds + 30).stdout
    m = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), "
                     r"write (\d+), timeout (\d+)", out)
    return {"requests": int(m.group(1)), "rps": float(rps.group(1)),
            "errors": (int(bad.group(1)) if bad else 0)
            + (sum(map(int, errs.groups())) if errs else 0)}


def watched(c):
    """(pid, count children's CPU?) pairs whose CPU a run of c costs:
    the first is the one the table reports."""
    if c.key == "node":
        return [(c.node.pid, False), (c.worker, False)]
    return [(c.worker, False)]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def p99(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.99 * len(s)) - 1)] if s else float("nan")


# --- scenarios 1-3: throughput ------------------------------------------------

def start_contestants(procs, run):
    for c in CONTESTANTS:
        if c.key == "node":
            if port_open(NODE_PORT):
                raise RuntimeError("port %d is already in use" % NODE_PORT)
            c.node = procs.spawn(
                ["taskset", "-c", "0", "node",
                 os.path.join(BENCH, "scripts", "server.js"), str(NODE_PORT)],
                os.path.join(run, "node.log"))
            wait_until(lambda: port_open(NODE_PORT), c.node, "node", 20)
        if c.key == "cgi":
            sock = os.path.join(run, "cgi", "fcgiwrap.sock")
            nginx_dir(run, "cgi")
            # umask 0: the nginx worker (user nobody) must reach the socket
            c.fcgiwrap = procs.spawn(
                ["taskset", "-c", "0", "fcgiwrap", "-s", "unix:" + sock],
                os.path.join(run, "fcgiwrap.log"), umask=0)
            wait_until(lambda: os.path.exists(sock), c.fcgiwrap,
                       "fcgiwrap", 10)
        conf = write_nginx_conf(run, c.key, c.port, template(c.key))
        c.proc, c.worker = start_nginx(procs, conf, c.port, c.key)


def check_outputs():
    """Every contestant must answer every scenario exactly alike."""
    for s in SCENARIOS:
        for key in s.contestants:
            conn = client.Conn(BY_KEY[key].port)
            status, body = conn.get(s.path, s.headers)
            conn.close()
            if status != 200 or body != s.expect:
                raise RuntimeError("%s %s answered %d %r, expected %r"
                                   % (key, s.key, status, body, s.expect))


def throughput(mode, tsv):
    combos = [(s, BY_KEY[k]) for s in SCENARIOS for k in s.contestants]

    for s, c in combos:                         # warm up (JITs, isolates)
        if mode["warmup"]:
            wrk(c.port, s.path, mode["warmup"], s.headers)
        else:
            client.repeat(c.port, s.path, 200, s.headers)

    runs = {(s.key, c.key): [] for s, c in combos}
    for r in range(1, mode["rounds"] + 1):
        for s, c in combos:                     # A B C ... A B C ...
            pids = watched(c)
            before = [cpu_ticks(p, ch) for p, ch in pids]
            sys0, wrk0, t0 = cpu_stat(), children_ticks(), time.time()
            res = wrk(c.port, s.path, mode["seconds"], s.headers)
            sys1, wrk1 = cpu_stat(), children_ticks()
            res["wall"] = time.time() - t0
            after = [cpu_ticks(p, ch) for p, ch in pids]
            res["ticks"] = [a - b for a, b in zip(after, before)]
            # CPU time on CPU 0 (ours: the watched processes) and CPU 1
            # (ours: wrk) that was not ours: other work, or steal
            used = [sys1[i][0] - sys0[i][0] for i in (0, 1)]
            total = [max(1, sys1[i][1] - sys0[i][1]) for i in (0, 1)]
            ours = [sum(res["ticks"]), wrk1 - wrk0]
            res["foreign"] = [max(0.0, (used[i] - ours[i]) / total[i])
                              for i in (0, 1)]
            if c.key == "cgi":
                # fcgiwrap ignores SIGCHLD, so its CGI processes' CPU
                # time reaches no /proc counter: take the rest of CPU 0
                res["ticks"].append(max(0, used[0] - res["ticks"][0]))
                res["foreign"][0] = None
            runs[(s.key, c.key)].append(res)
            tsv.write("%d\t%s\t%s\t%.1f\t%d\t%d\t%s\t%s\t%s\n"
                      % ((r, s.key, c.key, res["rps"], res["requests"],
                          res["errors"], ",".join(map(str, res["ticks"])))
                         + tuple("" if f is None else "%.3f" % f
                                 for f in res["foreign"])))
            log("round %d/%d  %-8s %-8s %10.0f req/s"
                % (r, mode["rounds"], s.key, c.key, res["rps"]))

    results = {}
    for (skey, ckey), rs in runs.items():
        reqs = sum(x["requests"] for x in rs)
        us = [sum(x["ticks"][i] for x in rs) * 1e6 / CLK_TCK / reqs
              for i in range(len(rs[0]["ticks"]))]
        busy = sum(x["ticks"][0] for x in rs) / CLK_TCK \
            / sum(x["wall"] for x in rs)
        results[(skey, ckey)] = {
            "rps": median([x["rps"] for x in rs]),
            "cpu_us": us,
            "busy": busy,
            "errors": sum(x["errors"] for x in rs),
        }
    results["foreign"] = [[x["foreign"][i] for rs in runs.values()
                           for x in rs if x["foreign"][i] is not None]
                          for i in (0, 1)]
    every = [x for rs in runs.values() for x in rs]
    results["noisy"] = (sum(1 for x in every if max(
        f for f in x["foreign"] if f is not None) > 0.10), len(every))
    return results


# --- instructions per request (callgrind) -------------------------------------

def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("no totals in " + path)


def callgrind_run(procs, run, key, scenario, n):
    """nginx (single process) under callgrind, n requests; the out file."""
    name = "cg-%s-%s-%d" % (key, scenario.key, n)
    # callgrind runs ~50x slower: fib(20) would pass the 50 ms default
    extra = "isolate_cpu_limit off;\n" if key == "isolate" else ""
    conf = write_nginx_conf(run, name, CG_PORT, template(key), master=False,
                            http_extra=extra)
    out = os.path.join(run, name, "callgrind.out")
    p, _ = start_nginx(procs, conf, CG_PORT, name, master=False,
                       prefix=["valgrind", "--tool=callgrind",
                               "--callgrind-out-file=" + out],
                       timeout=120)
    client.repeat(CG_PORT, scenario.path, n, scenario.headers)
    procs.stop(p, signal.SIGQUIT, timeout=120)
    return out


def instructions(procs, run, mode):
    """{(scenario, contestant): (Ir per request, (out N1, out N2))}"""
    result = {}
    for skey, (n1, n2) in mode["cg"].items():
        s = BY_SCENARIO[skey]
        for key in s.contestants:
            if key in ("node", "cgi"):      # other processes: not comparable
                continue
            outs = [callgrind_run(procs, run, key, s, n) for n in (n1, n2)]
            ir = (callgrind_total(outs[1]) - callgrind_total(outs[0])) \
                / (n2 - n1)
            result[(skey, key)] = (ir, outs, n2 - n1)
            log("callgrind %-8s %-8s %10.0f Ir/request" % (skey, key, ir))
    return result


def annotate(out):
    """{function: self Ir} from callgrind_annotate's function list.  The
    file part is dropped: callgrind books some of a function's lines
    (inlined ones) under \"???\", and they belong together."""
    text = subprocess.run(["callgrind_annotate", "--auto=no",
                           "--threshold=100", out],
                          capture_output=True, text=True, check=True).stdout
    entries = []        # (function, object or None, Ir)
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+?):(\S+)"
                     r"(?:\s+\[(.*)\])?\s*$", line)
        if m:
            entries.append((m.group(3), m.group(4),
                            int(m.group(1).replace(",", ""))))
    known = {f: o for f, o, _ in entries if o}
    fns, objs = {}, {}
    for name, obj, ir in entries:
        fns[name] = fns.get(name, 0) + ir
        obj = os.path.basename(obj or known.get(name, "other"))
        if obj == "ngx_http_isolate_module.so":
            obj = "module" if name.startswith("ngx_http_isolate") \
                else "mruby"
        objs[obj] = objs.get(obj, 0) + ir
    return fns, objs


def profile(outs, nreq, top=15):
    """Per-request self Ir by function and by object (nginx, libc, mruby,
    the module's own code): the N2 run minus the N1 run."""
    (fa, oa), (fb, ob) = annotate(outs[0]), annotate(outs[1])
    per = lambda a, b: {k: (b.get(k, 0) - a.get(k, 0)) / nreq
                        for k in set(a) | set(b)}
    fns, objs = per(fa, fb), per(oa, ob)
    total = sum(fns.values())
    rows = sorted(fns.items(), key=lambda kv: -kv[1])[:top]
    objs = sorted(((k, v) for k, v in objs.items() if v >= 0.005 * total),
                  key=lambda kv: -kv[1])
    return total, rows, objs


# --- scenarios 4 and 5: cold start, memory per isolate -------------------------

def scripts_conf(n):
    """n distinct inline scripts at /s1../sN, and the status page."""
    lines = ["load_module @SO@;", "include @RUN@/main.inc;", "http {",
             "    include @RUN@/http.inc;", "    server {",
             "        listen 127.0.0.1:@PORT@;"]
    for i in range(1, n + 1):
        lines.append("        location = /s%d { isolate_script_code "
                     "'ID = %d; def call(req) = [200, {\"content-type\" => "
                     "\"text/plain\"}, [\"script #{ID}\"]]'; }" % (i, i))
    lines += ["        location = /isolate-status { isolate_status; }",
              "    }", "}", ""]
    return "\n".join(lines)


def scripts_run(procs, run, n, pool=None, gap_ms=0):
    """nginx -t time; then the first and second request to each of n
    scripts (gap_ms apart), the worker's RSS before and after; pool:
    isolate_pool, or None for the default."""
    name = "scripts-%d%s%s" % (n, "" if pool is None else "-pool%d" % pool,
                               "-gap%g" % gap_ms if gap_ms else "")
    extra = "" if pool is None else "isolate_pool %d;\n" % pool
    conf = write_nginx_conf(run, name, SCRIPTS_PORT, scripts_conf(n),
                            error_level="info", http_extra=extra)
    t = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(nginx_cmd(conf) + ["-t", "-q"], check=True,
                       timeout=300)
        t.append(time.perf_counter() - t0)

    p, worker = start_nginx(procs, conf, SCRIPTS_PORT, name, timeout=120)
    rss0 = rss_kb(worker)
    lat = client.cold(SCRIPTS_PORT, n, gap_ms)
    rss1 = rss_kb(worker)
    conn = client.Conn(SCRIPTS_PORT)
    status = json.loads(conn.get("/isolate-status")[1])
    conn.close()
    procs.stop(p, signal.SIGQUIT)

    created, heap = [], []
    with open(os.path.join(run, name, "error.log")) as f:
        for line in f:
            m = re.search(r"created in (\d+)us, heap (\d+) bytes", line)
            if m:
                created.append(int(m.group(1)))
                heap.append(int(m.group(2)))
    if len(created) != n:
        raise RuntimeError("%s: %d isolates logged, expected %d"
                           % (name, len(created), n))
    r = {"n": n, "pool": pool, "gap_ms": gap_ms, "totals": status["totals"],
         "pool_size": status["pool"]["size"],
         "nginx_t": median(t), "rss0": rss0, "rss1": rss1,
         "cold": lat["cold"], "warm": lat["warm"],
         "created": created, "heap": heap}
    log("%s: first request median %.0fus, RSS +%.1f KiB/script"
        % (name, median(lat["cold"]), (rss1 - rss0) / n))
    return r


def node_start():
    """Wall time of `node -e 'require("http")'`, median of 20, in ms."""
    t = []
    for _ in range(20):
        t0 = time.perf_counter()
        subprocess.run(["node", "-e", 'require("http")'], check=True,
                       timeout=30)
        t.append((time.perf_counter() - t0) * 1000)
    return median(t)


# --- scenario 6: reverse proxy --------------------------------------------------

def scenario_reverse_proxy(procs, run, mode):
    """=== TO FILL: 6. reverse proxy ===

    Needs Isolate.fetch (or phase handlers) in the module.  Then: a script
    that forwards each request to an upstream (e.g. the static nginx) and
    returns its answer, against nginx's own proxy_pass, lua's
    ngx.location.capture / cosockets and njs's r.subrequest / ngx.fetch;
    return {contestant key: {"rps": ..., "cpu_us": [...], "errors": 0}}
    and report() shows it.  Until then None, shown as pending."""
    return None


# --- report --------------------------------------------------------------------

def cmd_out(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (r.stdout + r.stderr).strip()
    except OSError:
        return "?"


def deb_version(pkg):
    return cmd_out(["dpkg-query", "-W", "-f=${Version}", pkg])


def machine(mode_name):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = cmd_out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    if cmd_out(["git", "-C", ROOT, "status", "--porcelain", "--",
                "ngx_isolate_module", "config"]):
        commit += " + uncommitted changes"
    return [
        ("date", datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip()),
        ("mode", mode_name),
        ("CPUs (`nproc`)", str(os.cpu_count())),     # we run on CPU 1 only
        ("CPU", cpu),
        ("kernel (`uname -r`)", os.uname().release),
        ("nginx", cmd_out([NGINX, "-v"]).replace("nginx version: ", "")),
        ("module", "ngx_isolate_module %s, mruby 3.3.0" % commit),
        ("lua-nginx-module", "libnginx-mod-http-lua %s, LuaJIT %s"
         % (deb_version("libnginx-mod-http-lua"),
            deb_version("libluajit2-5.1-2") or deb_version("libluajit-5.1-2"))),
        ("njs", "libnginx-mod-http-js " + deb_version("libnginx-mod-http-js")),
        ("Node.js", cmd_out(["node", "--version"])),
        ("fcgiwrap", deb_version("fcgiwrap")),
        ("wrk", cmd_out(["wrk", "-v"]).splitlines()[0]),
    ]


def num(x, fmt="{:,.0f}"):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) \
        else fmt.format(x)


def report(mode_name, mode, tp, irs, cold, mem, node_ms, proxy, prof):
    static = tp[("hello", "static")]["rps"]
    static_ir = irs.get(("hello", "static"), (None,))[0]
    L = []
    L.append("# ngx_isolate_module benchmarks\n")
    L.append("Generated by `bench/run.sh%s`.\n"
             % (" --quick" if mode_name == "quick" else ""))
    L.append("| machine | |\n| --- | --- |")
    for k, v in machine(mode_name):
        L.append("| %s | %s |" % (k, v))
    L.append("")
    L.append("Each contestant is its own nginx (1.22.1, Debian's) on "
             "127.0.0.1 with one worker pinned to CPU 0 "
             "(`worker_cpu_affinity 01`); `wrk -t%d -c%d` pinned to CPU 1; "
             "keep-alive. The Node.js server is pinned to CPU 0 as well, "
             "like the nginx worker proxying to it (upstream keep-alive), "
             "and so are fcgiwrap and its CGI processes. Contestants "
             "alternate in %d rounds of %d s (A B C … A B C …); req/s is "
             "the median. CPU µs/req is utime+stime from /proc/PID/stat of "
             "the nginx worker (Node.js: the node process, plus the proxying "
             "worker) over all rounds, divided by the requests wrk counted "
             "(tick %d ms); busy is that process's CPU time over the wall "
             "time of the runs: below ~90%% the load generator, not the "
             "server, set the pace, and CPU µs/req is the fairer measure. "
             "Ir/req: instructions per request under "
             "`valgrind --tool=callgrind`, single-process nginx, "
             "(Ir(N2) − Ir(N1)) / (N2 − N1) so start-up cancels out. "
             "\"vs static\" is req/s over static nginx's hello world.\n"
             % (WRK_THREADS, WRK_CONNECTIONS, mode["rounds"],
                mode["seconds"], 1000 // CLK_TCK))

    f0, f1 = tp["foreign"]
    noisy, nruns = tp["noisy"]
    L.append("Other load during the runs (CPU time spent by processes "
             "outside the benchmark, and steal; /proc/stat): CPU 0 median "
             "%.0f%%, max %.0f%%; CPU 1 median %.0f%%, max %.0f%%; %d of %d "
             "runs above 10%%.%s\n"
             % (100 * median(f0), 100 * max(f0), 100 * median(f1),
                100 * max(f1), noisy, nruns,
                " **The machine was not quiet: take req/s with care; CPU "
                "µs/req and Ir/req suffer less.**"
                if noisy > nruns / 10 else ""))
    L.append("## Throughput\n")
    L.append("| scenario | contestant | req/s (median) | vs static | "
             "CPU µs/req | busy | Ir/req | notes |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for s in SCENARIOS:
        if "static" not in s.contestants:
            L.append("| %s | %s | n/a | | | | | can't compute a response |"
                     % (s.label, BY_KEY["static"].label))
        for key in s.contestants:
            r = tp[(s.key, key)]
            cpu = num(r["cpu_us"][0], "{:.1f}")
            notes = []
            if key == "node":
                cpu = "%s + %s" % (cpu, num(r["cpu_us"][1], "{:.1f}"))
                notes.append("CPU: node + the proxying nginx worker, "
                             "both on CPU 0")
            if key == "cgi":
                notes.append("CPU: nginx worker only; fcgiwrap + the CGI "
                             "processes add ~%s µs (the rest of CPU 0's "
                             "busy time)" % num(r["cpu_us"][1], "{:,.0f}"))
            if r["errors"]:
                notes.append("%d errors/non-2xx" % r["errors"])
            ir = irs.get((s.key, key), (None,))[0]
            irs_txt = num(ir)
            if ir and static_ir and s.key == "hello" and key != "static":
                irs_txt += " (%.1f×)" % (ir / static_ir)
            L.append("| %s | %s | %s | %.2f | %s | %.0f%% | %s | %s |"
                     % (s.label, BY_KEY[key].label, num(r["rps"]),
                        r["rps"] / static, cpu, 100 * r["busy"], irs_txt,
                        "; ".join(notes)))
    if proxy is None:
        L.append("| 6. reverse proxy | %s | pending (needs Isolate.fetch / "
                 "phases) | | | | | |" % BY_KEY["isolate"].label)
    else:
        for key, r in proxy.items():
            L.append("| 6. reverse proxy | %s | %s | %.2f | %s | | | |"
                     % (BY_KEY[key].label, num(r["rps"]), r["rps"] / static,
                        num(r["cpu_us"][0], "{:.1f}")))
    L.append("")

    L.append("Ours against the fastest other contestant:\n")
    worst = None
    for s in SCENARIOS:
        ours = tp[(s.key, "isolate")]["rps"]
        best = max((k for k in s.contestants if k != "isolate"),
                   key=lambda k: tp[(s.key, k)]["rps"])
        ratio = ours / tp[(s.key, best)]["rps"]
        L.append("- %s: %.2f× %s" % (s.label, ratio, BY_KEY[best].label))
        if worst is None or ratio < worst[1]:
            worst = (s, ratio, best)
    L.append("")

    L.append("## Cold start (scenario 4)\n")
    L.append("N distinct inline scripts at /s1 … /sN; a raw-socket client "
             "(bench/client.py) sends the first request to each, one at a "
             "time on one keep-alive connection (each creates the script's "
             "isolate), then a second pass (warm). Latency is the client's, "
             "request written to response read; \"isolate created\" is "
             "the module's own `created in …us` log line. With the default "
             "pool a first request loads the script into a blank isolate "
             "made ready beforehand (the pool refills between requests, "
             "off the request's path, but the worker is busy meanwhile); "
             "with `isolate_pool 0` it opens a fresh mruby state. Back to "
             "back, the next request waits for that refill; 2 ms apart, it "
             "does not. The client runs on CPU 1.\n")
    L.append("| scripts | `isolate_pool` | requests | first request: "
             "median | p99 | warm request: median | p99 | isolate created: "
             "median | p99 | pool hits |")
    L.append("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: |")
    for r in cold:
        L.append("| %d | %s | %s | %.0f µs | %.0f µs | %.0f µs | %.0f µs | "
                 "%.0f µs | %.0f µs | %d of %d |"
                 % (r["n"], "%d%s" % (r["pool_size"], " (default)"
                                      if r["pool"] is None else ""),
                    "%g ms apart" % r["gap_ms"] if r["gap_ms"]
                    else "back to back",
                    median(r["cold"]), p99(r["cold"]),
                    median(r["warm"]), p99(r["warm"]),
                    median(r["created"]), p99(r["created"]),
                    r["totals"]["pool_hits"], r["n"]))
    L.append("")
    L.append("- Node.js process start on this machine "
             "(`node -e 'require(\"http\")'`, median of 20): %.1f ms" % node_ms)
    L.append("- V8 isolate start: ~5 ms (the published figure, not measured "
             "here)\n")

    L.append("## Memory per isolate (scenario 5)\n")
    L.append("N distinct inline scripts; the worker's VmRSS before the first "
             "request and after one request to each. \"isolate heap\" is the "
             "module's own count of an isolate's allocations (log line).\n")
    L.append("| scripts | worker RSS before | after | growth per script | "
             "isolate heap (median) | `nginx -t` |")
    L.append("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in mem:
        L.append("| %d | %s KiB | %s KiB | %.1f KiB | %.1f KiB | %.2f s |"
                 % (r["n"], num(r["rss0"]), num(r["rss1"]),
                    (r["rss1"] - r["rss0"]) / r["n"],
                    median(r["heap"]) / 1024, r["nginx_t"]))
    L.append("")

    if prof:
        total, rows, objs = prof
        L.append("## Where ours spends its time in %s (callgrind)\n"
                 % worst[0].label)
        L.append("Self instructions per request by function: the N2 run "
                 "minus the N1 run, divided by N2 − N1 (%s Ir/request in "
                 "all).\n" % num(total))
        L.append("By object: " + ", ".join(
            "%s %.1f%%" % (k, 100 * v / total) for k, v in objs) + ".\n")
        L.append("| function | Ir/req | share |")
        L.append("| --- | ---: | ---: |")
        for fn, ir in rows:
            L.append("| `%s` | %s | %.1f%% |"
                     % (fn.replace("|", "\\|"), num(ir), 100 * ir / total))
        L.append("")
    return "\n".join(L), worst


def chart(run, tp, out, subtitle):
    """ratios.png: hello/strings/compute req/s over static's hello."""
    static = tp[("hello", "static")]["rps"]
    dat = os.path.join(run, "ratios.dat")
    with open(dat, "w") as f:
        for c in CONTESTANTS:
            vals = []
            for s in SCENARIOS:
                r = tp.get((s.key, c.key))
                vals.append("%.4f" % (r["rps"] / static) if r else "NaN")
            label = re.sub(r"\s*\(.*?\)|[`*]", "", c.label)
            f.write('"%s" %s\n' % (label.replace(" via ", "\\nvia "),
                                   " ".join(vals)))
    subprocess.run(["gnuplot", "-e", "datafile='%s'; outfile='%s'; n=%d; "
                    "subtitle='%s'" % (dat, out, len(CONTESTANTS), subtitle),
                    os.path.join(BENCH, "plot.gp")],
                   check=True, timeout=60)


# --- main ----------------------------------------------------------------------

def profile_only(procs, run, key):
    """bench/run.sh --profile SCENARIO: ours under callgrind, top 25."""
    n1, n2 = MODES["full"]["cg"][key]
    outs = [callgrind_run(procs, run, "isolate", BY_SCENARIO[key], n)
            for n in (n1, n2)]
    total, rows, objs = profile(outs, n2 - n1, top=25)
    print("ours, %s: %s Ir/request; by object: %s\n"
          % (BY_SCENARIO[key].label, num(total), ", ".join(
              "%s %.1f%%" % (k, 100 * v / total) for k, v in objs)))
    for fn, ir in rows:
        print("%12s  %5.1f%%  %s" % (num(ir), 100 * ir / total, fn))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=MODES, default="full")
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--profile", choices=BY_SCENARIO)
    args = ap.parse_args()
    mode, run = MODES[args.mode], args.run_dir
    results = os.path.join(BENCH, "results")
    os.makedirs(results, exist_ok=True)

    # SIGTERM/SIGHUP end us like Ctrl-C does, through the finally below
    def bye(signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGHUP, bye)

    # our own copy of the module: a rebuild during the run changes nothing
    global SO
    shutil.copy(SO, os.path.join(run, "ngx_http_isolate_module.so"))
    SO = os.path.join(run, "ngx_http_isolate_module.so")

    # this process (the cold-start client) and its children run on CPU 1,
    # like wrk; nginx workers, node and fcgiwrap are pinned to CPU 0
    os.sched_setaffinity(0, {1})

    procs = Procs(run)
    t0 = time.time()
    if args.profile:
        try:
            profile_only(procs, run, args.profile)
        finally:
            procs.stop_all()
        return
    try:
        log("mode %s: starting the contestants" % args.mode)
        start_contestants(procs, run)
        check_outputs()
        with open(os.path.join(results, "latest.tsv"), "w") as tsv:
            tsv.write("round\tscenario\tcontestant\treq/s\trequests\t"
                      "errors\tcpu_ticks\tother_load_cpu0\t"
                      "other_load_cpu1\n")
            tp = throughput(mode, tsv)
        proxy = scenario_reverse_proxy(procs, run, mode)
        procs.stop_all()

        irs = instructions(procs, run, mode)

        # cold start with the default pool and without one; memory
        cold_n = mode["cold_n"]
        runs = {n: scripts_run(procs, run, n)
                for n in sorted(set([cold_n]) | set(mode["mem_n"]))}
        cold = [runs[cold_n], scripts_run(procs, run, cold_n, gap_ms=2),
                scripts_run(procs, run, cold_n, pool=0)]
        mem = [runs[n] for n in mode["mem_n"]]
        node_ms = node_start()

        # the profile: ours in the scenario where it is furthest behind
        _, worst = report(args.mode, mode, tp, irs, cold, mem, node_ms,
                          proxy, None)
        prof = None
        if (worst[0].key, "isolate") not in irs:
            n1, n2 = MODES["full"]["cg"][worst[0].key]
            outs = [callgrind_run(procs, run, "isolate", worst[0], n)
                    for n in (n1, n2)]
            irs[(worst[0].key, "isolate")] = (
                (callgrind_total(outs[1]) - callgrind_total(outs[0]))
                / (n2 - n1), outs, n2 - n1)
        _, outs, nreq = irs[(worst[0].key, "isolate")]
        prof = profile(outs, nreq)

        text, _ = report(args.mode, mode, tp, irs, cold, mem, node_ms,
                         proxy, prof)
        with open(os.path.join(results, "latest.md"), "w") as f:
            f.write(text)
        chart(run, tp, os.path.join(results, "ratios.png"),
              "median req/s, bench/run.sh%s, %s"
              % (" --quick" if args.mode == "quick" else "",
                 time.strftime("%Y-%m-%d %H:%M")))
        print(text)
        log("done in %.0f s: bench/results/latest.md, latest.tsv, ratios.png"
            % (time.time() - t0))
    finally:
        procs.stop_all()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        log("interrupted; everything started is stopped")
        sys.exit(130)
