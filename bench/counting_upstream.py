#!/usr/bin/env python3
"""A GOPROXY upstream over a file tree that logs every request path.

usage: counting_upstream.py ROOT PORT LOG

Serves ROOT over HTTP on 127.0.0.1:PORT (404 for missing files) and appends
each request's path to LOG, so a benchmark can count upstream fetches.
"""
import http.server
import os
import sys
import threading


def main(root, port, log):
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            with lock, open(log, "a") as f:
                f.write(self.path + "\n")
            path = os.path.join(root, self.path.lstrip("/"))
            if not os.path.isfile(path):
                body = b"not found\n"
                self.send_response(404)
            else:
                with open(path, "rb") as f:
                    body = f.read()
                self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
