"""Upstreams that misbehave on purpose, for test_hostile.py: raw sockets, so they can
stream without end, never finish a line, echo credentials or fall silent."""
import json
import socket
import socketserver
import threading
import time

CHUNK = ("data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "glm-4.7",
                                "choices": [{"index": 0, "delta": {"content": "x" * 200}, "finish_reason": None}]})
         + "\n\n").encode()
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"


class HostileUpstream:
    """One mode for all requests: set `mode` before each test. Records what each
    connection was sent, how many bytes it wrote, and when it ended."""

    def __init__(self):
        self.mode = "endless-fast"
        self.connections = []
        self.lock = threading.Lock()
        upstream = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                record = {"head": b"", "sent": 0, "closed_at": None, "opened_at": time.time()}
                with upstream.lock:
                    upstream.connections.append(record)
                try:
                    record["head"] = read_request(self.request)
                    upstream.serve(self.request, record)
                except OSError:
                    pass
                finally:
                    record["closed_at"] = time.time()

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/v1"

    def last(self):
        with self.lock:
            return self.connections[-1] if self.connections else None

    def serve(self, sock, record):
        def send(data):
            sock.sendall(data)
            record["sent"] += len(data)

        if self.mode == "endless-fast":
            send(SSE_HEAD)
            block = CHUNK * 300
            while True:
                send(block)
        elif self.mode in ("endless-line", "event-then-endless-line"):
            send(SSE_HEAD + (CHUNK if self.mode == "event-then-endless-line" else b"") + b"data: ")
            block = b"a" * 65536
            while True:
                send(block)
        elif self.mode == "endless-comments":
            send(SSE_HEAD)
            while True:
                send(b": still thinking\n" * 1000)
                time.sleep(0.01)
        elif self.mode == "silent":
            send(SSE_HEAD + CHUNK)
            while sock.recv(1024):
                pass
        elif self.mode == "echo-auth":
            auth = [line for line in record["head"].split(b"\r\n") if line.lower().startswith(b"authorization:")]
            body = json.dumps({"error": {"message": "rejected " + b"".join(auth).decode(errors="replace")}}).encode()
            send(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\nconnection: close\r\n"
                 + f"content-length: {len(body)}\r\n\r\n".encode() + body)


def read_request(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return head
