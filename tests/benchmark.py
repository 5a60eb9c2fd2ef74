"""Benchmark: edgeverify against the floor, at real latency and at real size. Figures are printed, not asserted.

1. The main job (all suites, the lab target) through a delay proxy adding a round trip on loopback (1 ms,
   20 ms): the front door, `edgeverify run`, as a user waits for it (HTTP/2, the default, and HTTP/1.1 only),
   against two floors replaying the
   same requests over 16 parallel keep-alive HTTP/1.1 connections in the same run: a bare Python client
   (urllib3) and curl --parallel. Each client runs three times in turn; the median run is shown. Requests
   on the wire against distinct requests.
2. Asset scale: a site whose entry document references N assets (50, 500, 2,000) served by nginx, the
   static and cache suites: wall time, client CPU, peak RSS, report size, the floors, and the fitted
   per-asset cost; then 2,000 assets at 1 and 20 ms over HTTP/1.1 and HTTP/2.
3. Propagation timing: when a release flip is noticed, and when a never-converging run ends.

Run: .venv/bin/python tests/benchmark.py [--rtt 1,20] [--assets 50,500,2000] [--far 2000]
                                          [--skip-scale] [--skip-propagation]
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgeverify.lab import Lab  # noqa: E402
from edgeverify.lab.nginx import preamble  # noqa: E402

LAB_TARGET = ROOT / "targets" / "local-lab.yaml"
PY = sys.executable


# -- a delay proxy: each direction waits half the round trip before passing bytes on ------------------

class DelayProxy:
    """TCP proxy on 127.0.0.1 adding `rtt_ms` of round trip (half each way) to every connection."""

    def __init__(self, upstream_port: int, rtt_ms: float) -> None:
        self.upstream_port, self.delay = upstream_port, rtt_ms / 2000.0
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(5)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - self.loop.time()))
                writer.write(data)
                await writer.drain()
            writer.close()

        task = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((self.loop.time() + self.delay, data))
                if not data:
                    break
        except (ConnectionError, OSError):
            await queue.put((0.0, b""))
        await task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)


# -- measuring a process: wall, CPU, peak RSS (its own, through wait4) --------------------------------

def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    # As a user's machine runs it: bytecode cached, and without the project's own test plugins (hypothesis).
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if "pytest" in cmd:
        cmd = [*cmd, "-p", "no:hypothesispytest"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": time.monotonic() - started, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "exit": proc.returncode}


FLOOR = r'''
import json, sys, time, urllib3
from concurrent.futures import ThreadPoolExecutor
plan = json.load(open(sys.argv[1]))
pools = {"https": urllib3.HTTPSConnectionPool("127.0.0.1", plan["ports"]["443"], maxsize=16, block=True,
                                              server_hostname="www.example.test", assert_hostname="www.example.test",
                                              ca_certs=plan["ca"], retries=False),
         "http": urllib3.HTTPConnectionPool("127.0.0.1", plan["ports"].get("80", 9), maxsize=16, block=True,
                                            retries=False)}
def send(r):
    resp = pools[r["scheme"]].urlopen(r["method"], r["path"], headers=dict(r["headers"]), body=r["body"],
                                      redirect=False, preload_content=True, decode_content=True)
    assert resp.status
started = time.monotonic()
with ThreadPoolExecutor(16) as pool:
    list(pool.map(send, plan["requests"]))
open(sys.argv[2], "w").write(str(time.monotonic() - started))
'''


def curl_config(plan_path: Path, folder: Path) -> Path | None:
    """The same plan for `curl --parallel` (one transfer per request, 16 at a time), or None without curl."""
    if shutil.which("curl") is None:
        return None
    plan = json.loads(plan_path.read_text())

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = []
    # Both mappings in every transfer: curl 7.88 in --parallel mode keeps the first transfer's --connect-to.
    mappings = [f"connect-to = {quoted(f'www.example.test:{port}:127.0.0.1:{proxy}')}"
                for port, proxy in plan["ports"].items()]
    for r in plan["requests"]:
        lines += [f"url = {quoted(r['scheme'] + '://www.example.test' + r['path'])}", "output = /dev/null",
                  "path-as-is", "http1.1", *mappings, f"cacert = {quoted(plan['ca'])}"]
        lines.append("head" if r["method"] == "HEAD" else f"request = {r['method']}")
        for name, value in r["headers"]:
            if name.lower() == "accept-encoding":
                lines.append("compressed")  # asks for it and decodes, as the clients compared do
            elif name.lower() != "host":
                lines.append(f"header = {quoted(f'{name}: {value}')}")
        if r["body"] is not None:
            lines.append(f"data-binary = {quoted(r['body'])}")
        lines.append("next")
    path = folder / "curl.cfg"
    path.write_text("\n".join(lines[:-1]) + "\n")
    return path


def floor_plan(report: Path, proxies: dict[int, int], ca: str, folder: Path) -> Path:
    """The requests edgeverify sent (from its report), rewritten to dial the proxies like it did."""
    from urllib.parse import urlsplit

    doc = json.loads(report.read_text())
    requests = []
    for ex in doc["exchanges"].values():
        parts = urlsplit(ex["request"]["url"])
        headers = [[k, v] for k, v in ex["request"]["headers"] if k.lower() not in ("host", "content-length")]
        headers.append(["Host", "www.example.test"])
        body = "{}" if ex["request"]["method"] in ("POST", "PUT", "PATCH") else None
        requests.append({"method": ex["request"]["method"], "scheme": parts.scheme, "headers": headers, "body": body,
                         "path": (parts.path or "/") + (f"?{parts.query}" if parts.query else "")})
    path = folder / "plan.json"
    path.write_text(json.dumps({"ca": ca, "ports": {str(k): v for k, v in proxies.items()}, "requests": requests}))
    return path


REPEAT = 3  # every client runs this many times in turn; the run with the median network phase is shown


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda m: (m["phase"] != m["phase"], m["phase"], m["wall"]))[len(runs) // 2]


def floor_runs(plan: Path, env: dict[str, str], folder: Path) -> dict[str, dict[str, Any]]:
    """The same requests replayed by the simplest clients: Python (urllib3) and curl, 16 connections each."""
    python = measure([PY, "-c", FLOOR, str(plan), str(folder / "floor.txt")], env, folder)
    assert python["exit"] == 0, "the Python floor client failed"
    python["phase"] = float((folder / "floor.txt").read_text())  # its own clock, without interpreter start-up
    out = {"floor: Python keep-alive client (urllib3), 16 connections": python}
    config = curl_config(plan, folder)
    if config is not None:
        curl = measure(["curl", "-sS", "--parallel", "--parallel-max", "16", "-K", str(config)], env, folder)
        assert curl["exit"] == 0, "the curl floor failed"
        curl["phase"] = curl["wall"]  # curl starts in milliseconds: its wall is its network phase
        out["floor: curl --parallel, 16 connections"] = curl
    return out


def edgeverify_run(n: int, reports: Path, env: dict[str, str], folder: Path, http2: bool = True) -> dict[str, Any]:
    # The main job as the README gives it: the front door, whole process, reports and run history written.
    cmd = [PY, "-m", "edgeverify.cli", "run", str(LAB_TARGET), f"--reports-dir={reports}", "--",
           "--propagation-timeout=0"] + (["-n", str(n)] if n > 1 else []) + ([] if http2 else ["--http1.1"])
    m: dict[str, Any] = measure(cmd, env, folder)
    doc = json.loads((reports / "edgeverify.json").read_text())
    if os.environ.get("EV_BENCH_KEEP"):
        shutil.copytree(reports, Path(os.environ["EV_BENCH_KEEP"]) / reports.name, dirs_exist_ok=True)
    net = doc.get("network") or {}
    m.update(phase=net.get("phase_s") or float("nan"), wire=net.get("requests", len(doc["exchanges"])),
             distinct=net.get("distinct", "—"))
    return m


def main_job(rtts: list[float], workers: list[int]) -> None:
    print("\n## Main job: all suites against the lab, through a delay proxy\n")
    print(f"Each client runs {REPEAT} times, in turn; the run with the median network phase is shown. Ratios are to "
          "the Python floor (the issue's) and, after the slash, to curl's.\n")
    print("| round trip | client | network phase s | x floor | process wall s | x floor | requests on the wire | "
          "distinct | CPU s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        edge = lab.edge()
        for rtt in rtts:
            proxies = {443: DelayProxy(edge.https_port, rtt).port, 80: DelayProxy(edge.http_port, rtt).port}
            env = {**os.environ, "EDGEVERIFY_CA_BUNDLE": edge.ca_bundle,
                   "EDGEVERIFY_CONNECT_TO": f"www.example.test:443:127.0.0.1:{proxies[443]} "
                                            f"www.example.test:80:127.0.0.1:{proxies[80]}"}
            runs: dict[str, list[dict[str, Any]]] = {}
            for i in range(REPEAT):  # in turn, so that a slow moment of the machine falls on every client alike
                for n in workers:
                    name = f"edgeverify{'' if n == 1 else f' -n {n}'}"
                    runs.setdefault(name, []).append(edgeverify_run(n, folder / f"r{rtt}-{n}-{i}", env, folder))
                runs.setdefault("edgeverify --http1.1", []).append(
                    edgeverify_run(1, folder / f"r{rtt}-h1-{i}", env, folder, http2=False))
                if i == 0:
                    plan = floor_plan(folder / f"r{rtt}-{workers[0]}-0" / "edgeverify.json", proxies, edge.ca_bundle,
                                      folder)
                    requests_n = len(json.loads(plan.read_text())["requests"])
                for name, m in floor_runs(plan, env, folder).items():
                    m.update(wire=requests_n, distinct=requests_n)
                    runs.setdefault(name, []).append(m)
            shown = {name: median_run(ms) for name, ms in runs.items()}
            floors = [name for name in shown if name.startswith("floor")]
            py, cu = shown[floors[0]], shown[floors[-1]]
            for name in floors + [n for n in shown if n not in floors]:
                m = shown[name]
                print(f"| {rtt:g} ms | {name} | {m['phase']:.2f} | {m['phase'] / py['phase']:.2f} / "
                      f"{m['phase'] / cu['phase']:.2f} | {m['wall']:.2f} | {m['wall'] / py['wall']:.2f} / "
                      f"{m['wall'] / cu['wall']:.2f} | {m['wire']} | {m['distinct']} | {m['cpu']:.2f} | "
                      f"{m['rss_mb']:.0f} |")


# -- asset scale --------------------------------------------------------------------------------------

NGINX_CONF = """
{preamble}
  access_log off;
  types {{ text/html html; application/javascript js; text/css css; }}
  gzip on; gzip_vary on; gzip_min_length 1000; gzip_types application/javascript text/css;
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{port} ssl http2; server_name _;
    ssl_certificate {d}/cert.pem; ssl_certificate_key {d}/key.pem; ssl_protocols TLSv1.2 TLSv1.3;
    root {d}/site; etag on;
    add_header Strict-Transport-Security "max-age=31536000" always;
    add_header X-Cache "Hit from cloudfront" always;
    location = /index.html {{ add_header Cache-Control "no-cache"; add_header X-Cache "Hit from cloudfront"; }}
    location /assets/ {{ add_header Cache-Control "public, max-age=31536000, immutable";
                         add_header X-Cache "Hit from cloudfront"; }}
  }}
}}
"""


def site(folder: Path, n: int) -> None:
    assets = folder / "site" / "assets"
    assets.mkdir(parents=True)
    tags = []
    for i in range(n):
        body = (f"/* chunk {i} */\n" + f"export const c{i} = () => {i};\n" * 60).encode()
        name = f"chunk{i}.{hashlib.md5(body).hexdigest()[:8]}.js"
        (assets / name).write_bytes(body)
        tags.append(f'<script type="module" src="/assets/{name}"></script>')
    (folder / "site" / "index.html").write_text("<!doctype html><html><head><title>Scale</title>"
                                               + "".join(tags) + "</head><body><div id=app></div></body></html>")


def scale(sizes: list[int], far: int) -> None:
    """The asset-scale curve at 1 ms over HTTP/2, the default (the fitted cost), then `far` assets at 1 and 20 ms
    over both protocols."""
    import trustme

    print("\n## Asset scale: static + cache suites, entry document referencing N assets (nginx offering HTTP/2)\n")
    print("The floors replay the same requests (from edgeverify's report) over 16 HTTP/1.1 connections; their wall "
          "includes their own start-up.\n")
    print("| assets | round trip | protocol | wall s | client CPU s | peak RSS MB | report MB | requests | "
          "Python floor wall s | curl floor wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = [(n, 1.0, True) for n in sizes]
    if far:
        rows += [(far, 1.0, False), (far, 20.0, True), (far, 20.0, False)]
    results = []
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    for n, rtt, http2 in rows:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            (d / "tmp").mkdir()
            ca = trustme.CA()
            leaf = ca.issue_cert("www.example.test")
            leaf.private_key_pem.write_to_path(str(d / "key.pem"))
            (d / "cert.pem").write_bytes(b"".join(b.bytes() for b in leaf.cert_chain_pems))
            ca.cert_pem.write_to_path(str(d / "ca.pem"))
            site(d, n)
            import socket

            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            (d / "nginx.conf").write_text(NGINX_CONF.format(d=d, port=port, preamble=preamble(d, os.geteuid() == 0)))
            server = subprocess.Popen([nginx, "-p", str(d), "-c", str(d / "nginx.conf")], stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            proxy = DelayProxy(port, rtt)
            target = d / "scale.yaml"
            target.write_text("domain: www.example.test\nstatic: {pages: [/index.html]}\n"
                              f"spa: {{fallback: false}}\npropagation: {{timeout: 0}}\nhttp2: {str(http2).lower()}\n")
            env = {**os.environ, "EDGEVERIFY_CA_BUNDLE": str(d / "ca.pem"),
                   "EDGEVERIFY_CONNECT_TO": f"www.example.test:443:127.0.0.1:{proxy.port}"}
            prefix = os.environ.get("EV_BENCH_PROFILE", "").split()
            try:
                m = measure([*prefix, PY, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--target={target}",
                             f"--reports-dir={d / 'r'}", "-m", "static or cache", str(ROOT / "suites")], env, d)
                report = d / "r" / "edgeverify.json"
                plan = floor_plan(report, {443: proxy.port}, str(d / "ca.pem"), d)
                replayed = {name.split(":")[1].split()[0]: f["wall"] for name, f in floor_runs(plan, env, d).items()}
            finally:
                server.terminate()
                server.wait(10)
            doc = json.loads(report.read_text())
            size = report.stat().st_size / 1e6
            net = doc.get("network") or {}
            if rtt == 1.0 and http2:
                results.append((n, m["wall"], m["cpu"], m["rss_mb"], size))
            print(f"| {n} | {rtt:g} ms | HTTP/{'2' if http2 else '1.1'} | {m['wall']:.2f} | {m['cpu']:.2f} | "
                  f"{m['rss_mb']:.0f} | {size:.2f} | {net.get('requests', '—')} | "
                  f"{replayed.get('Python', float('nan')):.2f} | {replayed.get('curl', float('nan')):.2f} |")
    if len(results) >= 2:
        (n0, w0, c0, r0, s0), (n1, w1, c1, r1, s1) = results[0], results[-1]
        dn = n1 - n0
        print(f"\nfitted per asset at 1 ms over HTTP/2 (from {n0} to {n1}): {1000 * (w1 - w0) / dn:.2f} ms wall, "
              f"{1000 * (c1 - c0) / dn:.2f} ms CPU, {1024 * (r1 - r0) / dn:.1f} KB RSS, "
              f"{1e6 * (s1 - s0) / dn / 1024:.1f} KB of report")


# -- propagation timing -------------------------------------------------------------------------------

def propagation() -> None:
    print("\n## Propagation timing (interval 1 s)\n")
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for flip, deadline in ((3.0, 20), (None, 4)):
            edge = lab.edge(old_release_for=flip if flip is not None else 3600.0)
            m = measure([PY, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--target={LAB_TARGET}",
                         f"--reports-dir={folder / 'p'}", f"--propagation-timeout={deadline}", "-k", "release or hsts",
                         str(ROOT / "suites")], {**os.environ, **edge.env()}, folder)
            doc = json.loads((folder / "p" / "edgeverify.json").read_text())
            if flip is not None:
                lag = doc["release"]["seen_at"] - edge.switch_at
                print(f"- the edge serves the new release {flip:g} s after it started; the gate's request that found "
                      f"it went out **{lag:.2f} s after the flip** (goal: within interval + 0.3 s = 1.3 s); "
                      f"process wall {m['wall']:.2f} s, exit {m['exit']}")
            else:
                print(f"- never converges, deadline {deadline} s: the run's own clock ran {doc['wall_s']:.2f} s "
                      f"(**deadline + {doc['wall_s'] - deadline:.2f} s**, goal: within + 1 s), process wall "
                      f"{m['wall']:.2f} s, exit {m['exit']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtt", default="1,20")
    parser.add_argument("--workers", default="1", help="kept for old command lines: a target now runs in one process")
    parser.add_argument("--assets", default="50,500,2000")
    parser.add_argument("--far", type=int, default=2000, help="assets for the 20 ms and HTTP/2 rows (0: none)")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-propagation", action="store_true")
    args = parser.parse_args()
    print(f"# edgeverify benchmark ({os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')})")
    main_job([float(x) for x in args.rtt.split(",")], [int(x) for x in args.workers.split(",")])
    if not args.skip_scale:
        scale([int(x) for x in args.assets.split(",")], args.far)
    if not args.skip_propagation:
        propagation()


if __name__ == "__main__":
    main()
