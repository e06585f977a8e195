"""A tiny HTTP server on 127.0.0.1 that records every delivery POSTed to it.

Stands in for a chat platform in the multi-process tests: worker processes
"send" a follow-up by POSTing `{"followup_id", "worker"}`; the test then counts
how many times each follow-up arrived. Runs in a thread, on a free port.
"""

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class RecordingSink:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay  # seconds each delivery takes, like a platform's round trip
        self.records: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: workers reuse their connections

            def setup(self) -> None:
                super().setup()  # no Nagle: headers and body are separate writes (40 ms stalls)
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                data = json.loads(body or b"{}")
                if sink.delay:
                    time.sleep(sink.delay)
                with sink._lock:
                    sink.records.append((int(data["followup_id"]), str(data["worker"])))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "11")
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return None

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default 5 drops busy workers' connects (1 s SYN retry)

            def handle_error(self, request: object, client_address: object) -> None:
                return None  # a killed worker's dropped connection is part of the test

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/deliver"

    def count(self) -> int:
        with self._lock:
            return len(self.records)

    def per_followup(self) -> Counter[int]:
        with self._lock:
            return Counter(followup_id for followup_id, _ in self.records)

    def per_worker(self) -> Counter[str]:
        with self._lock:
            return Counter(worker for _, worker in self.records)

    def __enter__(self) -> "RecordingSink":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
