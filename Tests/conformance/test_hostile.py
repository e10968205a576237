"""Hostile web pages, upstreams and clients against the built binary, at the socket
(docs/security.md). Each test states the bound it holds the server to."""
import json
import os
import re
import signal
import socket
import threading
import time
import urllib.parse
import urllib.request

import pytest

from conftest import start_gateway
from hostile_upstream import HostileUpstream

KEY = "sk-hostile-test-key-0123456789"


@pytest.fixture(scope="module")
def upstream():
    return HostileUpstream()


@pytest.fixture()
def gateway(upstream):
    """flowgate with iFlow pointed at the hostile upstream; yields (proc, url, port)."""
    started = []

    def start(env=None, config=None, nofile=None, key=KEY):
        proc, url = start_gateway({"IFLOW_API_KEY": key, "IFLOW_BASE_URL": upstream.base_url, **(env or {})},
                                  config=config, nofile=nofile, capture=True)
        started.append(proc)
        return proc, url, int(url.rsplit(":", 1)[1])

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def connect(port, timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return sock


def read_all(sock, limit=10.0):
    """Everything until the server closes, or `limit` seconds in all pass."""
    deadline = time.time() + limit
    data = b""
    try:
        while time.time() < deadline:
            sock.settimeout(max(0.01, deadline - time.time()))
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def raw(port, text, limit=10.0):
    sock = connect(port)
    sock.sendall(text if isinstance(text, bytes) else text.encode())
    data = read_all(sock, limit)
    sock.close()
    return data


def status(response):
    return int(response.split(b" ", 2)[1])


def body(response):
    """The body of a raw answer, chunked transfer coding removed."""
    head, _, rest = response.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return rest
    out = b""
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return out


def chat_request(port, body, host=None, headers="", stream=False):
    payload = json.dumps(body).encode() if not isinstance(body, bytes) else body
    host = host or f"127.0.0.1:{port}"
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{headers}"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode() + payload


def stream_body(text="hi"):
    return {"model": "glm-4.7", "messages": [{"role": "user", "content": text}], "stream": True}


def rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])


def health_ok(url, timeout=2):
    with urllib.request.urlopen(url + "/health", timeout=timeout) as r:
        return r.status == 200


# --- web pages ---------------------------------------------------------------------------------

def test_dns_rebinding_host_names_are_refused_with_421(gateway):
    _, _, port = gateway()
    for path in ("/v1/models", "/", "/health"):
        answer = raw(port, f"GET {path} HTTP/1.1\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n")
        assert status(answer) == 421, (path, answer[:200])
    answer = raw(port, chat_request(port, stream_body(), host="evil.example"))
    assert status(answer) == 421 and b"misdirected_request" in answer
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "[::1]", "LOCALHOST"):
        answer = raw(port, f"GET /v1/models HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
        assert status(answer) == 200, host


def test_allowed_hosts_extend_the_loopback_names(gateway):
    _, _, port = gateway(env={"FLOWGATE_ALLOWED_HOSTS": "gate.lan"})
    ok = raw(port, f"GET /v1/models HTTP/1.1\r\nHost: gate.lan:{port}\r\nConnection: close\r\n\r\n")
    assert status(ok) == 200
    refused = raw(port, f"GET /v1/models HTTP/1.1\r\nHost: other.lan\r\nConnection: close\r\n\r\n")
    assert status(refused) == 421


def test_cross_site_simple_posts_never_reach_the_upstream(gateway, upstream):
    _, _, port = gateway()
    before = len(upstream.connections)
    body = json.dumps(stream_body()).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        answer = raw(port, (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
                     .encode() + body)
        assert status(answer) == 415, content_type
    foreign = raw(port, chat_request(port, stream_body(), headers="Origin: https://evil.example\r\n"))
    assert status(foreign) == 403 and b"cross_origin_forbidden" in foreign
    assert len(upstream.connections) == before


def test_the_sign_in_callback_is_never_built_from_request_headers(gateway):
    _, url, port = gateway(key="")
    console = raw(port, f"GET / HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n").decode()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', console).group(1)
    form = f"csrf={csrf}".encode()
    answer = raw(port, (f"POST /login/iflow HTTP/1.1\r\nHost: localhost:{port}\r\n"
                        "X-Forwarded-Proto: https://attacker.example/x?\r\nX-Forwarded-Host: attacker.example\r\n"
                        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n"
                        "Connection: close\r\n\r\n").encode() + form).decode()
    assert answer.startswith("HTTP/1.1 303")
    location = re.search(r"(?im)^location: (.+)\r$", answer).group(1)
    redirect = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["redirect"][0]
    assert redirect == f"http://localhost:{port}/oauth2callback"
    get = raw(port, f"GET /login/iflow HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n")
    assert status(get) == 405 and b"\r\nallow: POST" in get.lower().replace(b"allow: post", b"allow: POST")


# --- hostile upstreams -------------------------------------------------------------------------

def test_a_client_that_stops_reading_stops_the_upstream_read(gateway, upstream):
    """Bound: RSS grows less than 25 MB while the client reads nothing for 6 s against an
    upstream that sends as fast as it can; the upstream is then held back (under 1 MB more
    in the last 3 s), and its connection closes within a second of the client leaving."""
    proc, _, port = gateway()
    upstream.mode = "endless-fast"
    sock = connect(port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.sendall(chat_request(port, stream_body()))
    assert b"200 OK" in sock.recv(4096)
    time.sleep(0.5)
    start = rss_mb(proc.pid)
    peak = start
    sent_at_3 = None
    for second in range(6):
        time.sleep(1)
        peak = max(peak, rss_mb(proc.pid))
        if second == 2:
            sent_at_3 = upstream.last()["sent"]
    sent_at_6 = upstream.last()["sent"]
    print(f"\n[bound] non-reading client: RSS {start:.1f} -> {peak:.1f} MB over 6 s; "
          f"upstream sent {sent_at_6 - sent_at_3} bytes in the last 3 s")
    assert peak - start < 25, f"RSS {start:.1f} -> {peak:.1f} MB"
    assert sent_at_6 - sent_at_3 < 1 << 20, f"the upstream kept sending: {sent_at_6 - sent_at_3} bytes in 3 s"
    sock.close()
    left = time.time()
    deadline = left + 3
    while upstream.last()["closed_at"] is None and time.time() < deadline:
        time.sleep(0.05)
    closed = upstream.last()["closed_at"]
    assert closed is not None and closed - left < 1.0
    print(f"[bound] upstream closed {closed - left:.3f} s after the client left")
    assert health_ok(f"http://127.0.0.1:{port}")


def test_an_endless_line_fails_fast_and_the_server_stays_responsive(gateway, upstream):
    """Bound: two streams of an endless SSE line each end with a 502 within 15 s, while
    /health answers every poll within 1 s; both upstream connections are closed."""
    _, url, port = gateway()
    upstream.mode = "endless-line"
    results = []

    def call():
        started = time.time()
        answer = raw(port, chat_request(port, stream_body()), limit=30)
        results.append((time.time() - started, answer))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        started = time.time()
        assert health_ok(url, timeout=1)
        assert time.time() - started < 1
        time.sleep(0.2)
    print(f"\n[bound] endless SSE line: answered after {', '.join(f'{r[0]:.2f}' for r in results)} s")
    for seconds, answer in results:
        assert seconds < 15
        assert status(answer) == 502 and b"upstream_stream_too_large" in answer
    time.sleep(0.5)
    assert all(c["closed_at"] is not None for c in upstream.connections[-2:])


def test_an_endless_line_after_output_ends_with_an_error_event_and_done(gateway, upstream):
    _, _, port = gateway()
    upstream.mode = "event-then-endless-line"
    answer = raw(port, chat_request(port, stream_body()), limit=30)
    assert status(answer) == 200
    assert b"upstream_stream_too_large" in answer
    assert body(answer).endswith(b"data: [DONE]\n\n")


def test_an_upstream_that_never_ends_an_event_is_cancelled_when_the_client_leaves(gateway, upstream):
    _, _, port = gateway()
    upstream.mode = "endless-comments"
    sock = connect(port)
    sock.sendall(chat_request(port, stream_body()))
    time.sleep(1.0)
    sock.close()
    left = time.time()
    while upstream.last()["closed_at"] is None and time.time() < left + 3:
        time.sleep(0.05)
    assert upstream.last()["closed_at"] is not None and upstream.last()["closed_at"] - left < 1.0


def test_credentials_reach_no_client_page_or_log(gateway, upstream):
    """An upstream that echoes the Authorization header, and a key holding CRLF."""
    proc, url, port = gateway()
    upstream.mode = "echo-auth"
    answer = raw(port, chat_request(port, {"model": "glm-4.7", "messages": [{"role": "user", "content": "hi"}]}))
    assert status(answer) == 502
    assert KEY.encode() not in answer and KEY[5:20].encode() not in answer
    assert b"[redacted]" in answer

    crlf_key = "sk-crlf-secret-abcdef\r\nX-Injected: yes"
    proc2, url2, port2 = gateway(key=crlf_key)
    before = len(upstream.connections)
    answer2 = raw(port2, chat_request(port2, {"model": "glm-4.7", "messages": [{"role": "user", "content": "hi"}]}))
    assert 500 <= status(answer2) < 600
    assert b"sk-crlf-secret" not in answer2
    injected = [c for c in upstream.connections[before:] if b"x-injected" in c["head"].lower()]
    assert not injected, "a header was injected upstream"
    for page in ("/health", "/"):
        with urllib.request.urlopen(url2 + page, timeout=5) as r:
            assert b"sk-crlf-secret" not in r.read()
    for p in (proc, proc2):
        p.send_signal(signal.SIGTERM)
        logs = p.communicate(timeout=15)[0]
        assert KEY not in logs and "sk-crlf-secret" not in logs


# --- clients and the process -------------------------------------------------------------------

def test_many_tiny_json_values_are_refused_within_a_memory_bound(gateway):
    """Bound: eight parallel 32 MiB bodies of `0,` values: each a 400, peak RSS under 450 MB
    (it was 3.3 GB), and under 120 MB once they are done."""
    proc, _, port = gateway()
    prefix = b'{"model":"glm-4.7","messages":[{"role":"user","content":"hi"}],"x":['
    body = prefix + b"0," * ((32 << 20) // 2 - len(prefix)) + b"0]}"
    body = body[: (32 << 20) - 3] + b"0]}"
    answers = []

    def post():
        answers.append(raw(port, chat_request(port, body), limit=60))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status(a) for a in answers] == [400] * 8, [a[:200] for a in answers]
    peak = rss_mb(proc.pid, "VmHWM")
    time.sleep(0.5)
    print(f"\n[bound] 8 x 32 MiB of tiny JSON values: peak RSS {peak:.0f} MB, after {rss_mb(proc.pid):.0f} MB")
    assert peak < 450, f"peak RSS {peak:.0f} MB"
    assert rss_mb(proc.pid) < 120, f"RSS after {rss_mb(proc.pid):.0f} MB"


def test_a_slow_request_is_cut_at_the_read_deadline(gateway):
    """Bound: with request_timeout_seconds 2, a head or a body trickled one byte every
    0.4 s is closed within 3.5 s."""
    _, _, port = gateway(config="server:\n  request_timeout_seconds: 2\n")
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n").encode()
    for prefix, trickle in ((b"", head), (head, b"x" * 100)):
        sock = connect(port)
        sock.sendall(prefix)
        started = time.time()
        closed = False
        for byte in trickle:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            sock.settimeout(0.4)
            try:
                if sock.recv(4096) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except OSError:  # a reset: closed with our unread bytes in its buffer
                closed = True
                break
            if time.time() - started > 6:
                break
        print(f"\n[bound] slow {'body' if prefix else 'head'} closed after {time.time() - started:.2f} s")
        assert closed and time.time() - started < 3.5
        sock.close()


def test_an_unauthenticated_request_is_answered_and_its_connection_closed(gateway):
    _, _, port = gateway(env={"API_KEY": "sk-client"})
    sock = connect(port)
    sock.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                  "Content-Length: 100000\r\n\r\n{\"model\":").encode())
    started = time.time()
    answer = read_all(sock, limit=5)
    assert status(answer) == 401
    assert time.time() - started < 2, "closed at once, not after the body"


def test_http10_without_keep_alive_is_closed_after_the_answer(gateway):
    _, _, port = gateway()
    sock = connect(port)
    sock.sendall(f"GET /health HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    started = time.time()
    answer = read_all(sock, limit=5)
    assert status(answer) == 200 and time.time() - started < 1.5


def test_broken_chunked_framing_is_a_400_and_not_logged_as_an_error(gateway):
    proc, _, port = gateway()
    answer = raw(port, (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n"))
    assert status(answer) == 400
    wrong_method = raw(port, f"DELETE /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
    assert status(wrong_method) == 405 and b"\r\nallow: POST" in wrong_method.replace(b"Allow", b"allow")
    proc.send_signal(signal.SIGTERM)
    logs = proc.communicate(timeout=15)[0]
    assert " error " not in logs and "critical" not in logs, logs


def test_health_shows_no_file_paths(gateway):
    proc, url, _ = gateway(key="")
    home = None
    with open(f"/proc/{proc.pid}/environ", "rb") as f:
        for item in f.read().split(b"\0"):
            if item.startswith(b"HOME="):
                home = item[5:].decode()
    os.makedirs(home + "/.iflow", exist_ok=True)
    with open(home + "/.iflow/settings.json", "w") as f:
        json.dump({"apiKey": "sk-from-settings-file"}, f)
    # The file is looked at every 2 s, never by /health itself.
    deadline = time.time() + 10
    while True:
        with urllib.request.urlopen(url + "/health", timeout=5) as r:
            text = r.read().decode()
        if json.loads(text)["providers"]["iflow"]["state"] == "ok" or time.time() > deadline:
            break
        time.sleep(0.2)
    assert json.loads(text)["providers"]["iflow"]["state"] == "ok"
    assert "settings.json" in text and home not in text and "/.iflow" not in text


def test_at_the_descriptor_limit_the_server_backs_off_and_recovers(gateway):
    """Bound: under `ulimit -n 64` with 100 connections held open, under 10 % of a CPU,
    one warning in the log, and /health answers once the connections are gone."""
    proc, url, port = gateway(nofile=64)
    held = []
    for _ in range(100):
        sock = socket.socket()
        sock.settimeout(2)
        sock.connect(("127.0.0.1", port))
        held.append(sock)
    time.sleep(1.5)
    before = cpu_ticks(proc.pid)
    time.sleep(2)
    used = cpu_ticks(proc.pid) - before
    print(f"\n[bound] at the descriptor limit: {used} CPU ticks (1/100 s) in 2 s")
    assert used < 20, f"{used} ticks in 2 s"
    for sock in held:
        sock.close()
    deadline = time.time() + 5
    while True:
        try:
            if health_ok(url, timeout=1):
                break
        except OSError:
            pass
        assert time.time() < deadline, "health did not come back"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    logs = proc.communicate(timeout=15)[0]
    assert logs.count("not accepting more until one closes") == 1, logs


def test_sigterm_ends_open_streams_with_an_error_event_after_the_grace_period(gateway, upstream):
    proc, _, port = gateway(config="server:\n  shutdown_grace_seconds: 1\n")
    upstream.mode = "silent"
    sock = connect(port)
    sock.sendall(chat_request(port, stream_body()))
    first = sock.recv(65536)
    assert b"200 OK" in first
    proc.send_signal(signal.SIGTERM)
    started = time.time()
    rest = read_all(sock, limit=10)
    text = body(first + rest)
    assert b"server_shutting_down" in text and text.endswith(b"data: [DONE]\n\n")
    assert proc.wait(timeout=10) == 0
    print(f"\n[bound] SIGTERM with grace 1 s: stream ended and process exited after {time.time() - started:.2f} s")
    assert time.time() - started < 6


def test_a_second_signal_exits_at_once(gateway, upstream):
    proc, _, port = gateway()
    upstream.mode = "silent"
    sock = connect(port)
    sock.sendall(chat_request(port, stream_body()))
    assert b"200 OK" in sock.recv(65536)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert proc.poll() is None, "the stream holds the first shutdown (grace 30 s)"
    proc.send_signal(signal.SIGTERM)
    started = time.time()
    proc.wait(timeout=5)
    print(f"\n[bound] second signal: exited after {time.time() - started:.2f} s")
    assert time.time() - started < 1.5
    sock.close()
