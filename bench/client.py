#!/usr/bin/env python3
"""A small HTTP/1.1 client on raw sockets, for the parts of the benchmark
that need one request at a time: exact request counts under callgrind, and
timing the first request to each of many scripts (cold start).

    client.py get PORT PATH [Header:value ...]   print the body
    client.py repeat PORT PATH N                 N requests on one connection
    client.py cold PORT N [GAP_MS]               /s1../sN twice, timed (JSON)
"""

import json
import socket
import sys
import time


class Conn:
    """One keep-alive connection to 127.0.0.1:port (reopened if closed)."""

    def __init__(self, port, timeout=30.0):
        self.port = port
        self.timeout = timeout
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None
        self.buf = b""

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port),
                                             timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed mid-response")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def get(self, path, headers=()):
        """GET path; returns (status, body bytes).  Handles Content-Length,
        chunked, and read-to-close bodies."""
        if self.sock is None:
            self._connect()
        req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % path
        req += "".join("%s\r\n" % h for h in headers) + "\r\n"
        self.sock.sendall(req.encode())

        status = int(self._line().split()[1])
        fields = {}
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()

        if "content-length" in fields:
            body = self._exactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():     # trailers, then the empty line
                        pass
                    break
                body += self._exactly(size)
                self._exactly(2)
        else:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.buf += data
            body, self.buf = self.buf, b""
            fields["connection"] = "close"

        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, body


def repeat(port, path, n, headers=()):
    """n requests on one connection; raises unless every one is a 200."""
    c = Conn(port)
    try:
        for _ in range(n):
            status, _ = c.get(path, headers)
            if status != 200:
                raise RuntimeError("%s answered %d" % (path, status))
    finally:
        c.close()


def cold(port, n, gap_ms=0):
    """The first request to each of /s1../sN (each opens an isolate), then
    a second pass (warm), one request at a time on one keep-alive
    connection, gap_ms of idle time before each; returns the latencies in
    microseconds."""
    c = Conn(port)
    out = {"cold": [], "warm": []}
    try:
        for kind in ("cold", "warm"):
            for i in range(1, n + 1):
                if gap_ms:
                    time.sleep(gap_ms / 1000.0)
                t0 = time.perf_counter_ns()
                status, _ = c.get("/s%d" % i)
                t1 = time.perf_counter_ns()
                if status != 200:
                    raise RuntimeError("/s%d answered %d" % (i, status))
                out[kind].append((t1 - t0) / 1000.0)
    finally:
        c.close()
    return out


def main(argv):
    if len(argv) >= 3 and argv[0] == "get":
        c = Conn(int(argv[1]))
        status, body = c.get(argv[2], argv[3:])
        c.close()
        sys.stdout.buffer.write(body)
        return 0 if status == 200 else 1
    if len(argv) == 4 and argv[0] == "repeat":
        repeat(int(argv[1]), argv[2], int(argv[3]))
        return 0
    if len(argv) in (3, 4) and argv[0] == "cold":
        gap = float(argv[3]) if len(argv) == 4 else 0
        json.dump(cold(int(argv[1]), int(argv[2]), gap), sys.stdout)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
