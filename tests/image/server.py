#!/usr/bin/env python3
"""server.py - a local HTTP server for qvm-image tests (127.0.0.1 only).

Serves files from DIR with Range support and logs every request ("PATH RANGE")
to DIR/requests.log. Paths under /drop-once/ send half the file and then cut the
connection, the first time only. /norange-drop/ does that too, and ignores Range
(always 200, the whole file). /slow/ sends the file in 32 pieces, 0.1 s apart.
Prints the port on stdout when ready.
"""
import http.server
import os
import sys
import time

ROOT = sys.argv[1]
dropped = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        with open(os.path.join(ROOT, "requests.log"), "a") as log:
            log.write(f"{self.path} {self.headers.get('Range', '-')}\n")
        drop = self.path.startswith("/drop-once/") or self.path.startswith("/norange-drop/")
        norange = self.path.startswith("/norange-drop/")
        slow = self.path.startswith("/slow/")
        path = os.path.join(ROOT, os.path.basename(self.path))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        data = open(path, "rb").read()
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-") and not norange:
            start = int(rng[6:-1])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if drop and self.path not in dropped:
            dropped.add(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            self.close_connection = True
            return
        if slow:
            piece = len(body) // 32 + 1
            for i in range(0, len(body), piece):
                self.wfile.write(body[i:i + piece])
                self.wfile.flush()
                time.sleep(0.1)
            return
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
