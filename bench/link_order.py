"""Writes scripts/link-order.txt: every function of the release binary that runs from start-up
through plain and streamed requests in each dialect (one at a time, then under wrk), /health
and /metrics, found with callgrind. scripts/build-release hands the list to the linker, which places these functions
next to each other, so the few megabytes of code a running server uses fill few pages instead
of touching pages all over the binary (docs/performance.md, "Code the server runs, placed
together"). Started by bench/link-order, which installs valgrind and builds the binary."""
import http.client
import os
import subprocess
import sys
import time
import urllib.parse

import bench

binary, output = sys.argv[1], sys.argv[2]
# callgrind needs the symbols, not the debug info (valgrind 3.19 cannot read Swift's DWARF).
profiled = os.path.join(bench.WORK, "flowgate.profiled")
subprocess.run(["objcopy", "--strip-debug", binary, profiled], check=True)

bench.write_upstream_files()
up_port, px_port = bench.free_port(), bench.free_port()
conf = os.path.join(bench.WORK, "nginx.conf")
with open(conf, "w") as f:
    f.write(bench.nginx_conf(up_port, px_port))
nginx = bench.start(["/usr/sbin/nginx", "-p", bench.WORK, "-c", conf])
bench.wait_for(f"http://127.0.0.1:{up_port}/completion.json")

# valgrind starts the binary slowly: wait up to 5 minutes for it to answer.
original_wait = bench.wait_for
bench.wait_for = lambda url, timeout=60, headers=None: original_wait(url, 300, headers)

names = set()
for stream in (False, True):
    out = os.path.join(bench.WORK, f"callgrind.{int(stream)}")
    wrapper = os.path.join(bench.WORK, f"callgrind.{int(stream)}.sh")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec valgrind --tool=callgrind --demangle=no --compress-strings=no "
                f"--callgrind-out-file={out} {profiled} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    upstream = f"http://127.0.0.1:{up_port}/" + ("sse" if stream else "json") + "/v1"
    proc, url = bench.start_flowgate(upstream, wrapper)
    parts = urllib.parse.urlparse(url)
    for dialect, route in (("openai", "/chat/completions"), ("anthropic", "/messages"), ("responses", "/responses")):
        body = bench.request_body(stream, dialect).encode()
        path = parts.path.replace("/chat/completions", route)
        for i in range(30):  # new and kept-alive connections alike
            conn = http.client.HTTPConnection(parts.hostname, parts.port)
            conn.request("POST", path, body, {"Authorization": "Bearer " + bench.CLIENT_KEY,
                                              "Content-Type": "application/json"})
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200, answer.status
            if i % 2:
                conn.close()
        # Under load as the benchmark drives it: many connections, the pool's paths when busy.
        bench.wrk(url.replace("/chat/completions", route), 8 if stream else 32, 3, stream, dialect=dialect)
    for path in ("/health", "/metrics"):
        conn = http.client.HTTPConnection(parts.hostname, parts.port)
        conn.request("GET", path, headers={"Authorization": "Bearer " + bench.CLIENT_KEY})
        conn.getresponse().read()
    bench.stop(proc)
    for _ in range(150):  # callgrind writes its file as the process exits
        if os.path.exists(out):
            break
        time.sleep(0.2)
    time.sleep(1)
    with open(out) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):  # names written out in full (--compress-strings=no)
                names.add(line.split("=", 1)[1].strip())
bench.stop(nginx)

# Only the binary's own functions (not libc's); sorted, so that a new profile diffs by what changed.
defined = set()
nm = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
for line in nm.splitlines():
    fields = line.split()
    if len(fields) == 3 and fields[1] in "tTwW":
        defined.add(fields[2])
ordered = sorted(name for name in names if name in defined)
with open(output, "w") as f:
    f.write("".join(name + "\n" for name in ordered))
print(f"{output}: {len(ordered)} functions (of {len(names)} the profile saw)")
