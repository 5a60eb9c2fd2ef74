"""MDN's own scanner (npm @mdn/mdn-http-observatory) run against a lab edge, as the oracle for our grade.

The scanner (1.4.8, the version on npm) ignores port options: it fetches https://HOST/ on 443 and http://HOST/
on 80, and resolves HOST through the system resolver. So it runs in a private network and mount namespace
(`unshare -mn`, root only): there `lo` is up, a bind-mounted hosts file maps the lab domain to 127.0.0.1, and
this process forwards that namespace's 127.0.0.1:443 and :80 to the lab edge's ports on the machine's own
loopback (the listening sockets are made inside the namespace with setns(2), the connections out of it in
ours). Nothing on the machine's own ports 443/80 or its /etc/hosts is touched.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "@mdn/mdn-http-observatory"
VERSION = "1.4.8"
CLONE_NEWNET = 0x40000000
SCAN_JS = """import { scan } from "%s";
const r = await scan(process.argv[2]);
const tests = {};
for (const [name, t] of Object.entries(r.tests)) tests[name] = {result: t.result, pass: t.pass, modifier: t.scoreModifier};
console.log(JSON.stringify({grade: r.scan.grade, score: r.scan.score, tests}));
"""


def scanner_dir() -> Path:
    """Where .ci/install puts the scanner (EDGEVERIFY_OBSERVATORY_DIR overrides)."""
    return Path(os.environ.get("EDGEVERIFY_OBSERVATORY_DIR") or ROOT / ".cache" / "observatory")


def unavailable() -> str | None:
    """Why the scanner cannot run here (None: it can)."""
    if not shutil.which("node"):
        return "node is not installed (Debian: apt-get install nodejs npm; .ci/install does it)"
    if not (scanner_dir() / "node_modules" / PACKAGE / "package.json").is_file():
        return (f"{PACKAGE} is not installed in {scanner_dir()} (npm install --ignore-scripts "
                f"{PACKAGE}@{VERSION}; .ci/install does it)")
    if not (scanner_dir() / "node_modules" / PACKAGE / "conf" / "hsts-preload.json").is_file():
        return f"{PACKAGE} has no conf/hsts-preload.json (installed with --ignore-scripts: write {{}} there)"
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return "the scanner needs ports 443/80 of its own: a network namespace (root, unshare, ip) is not available"
    return None


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


class _Forwarder:
    """Listens on 127.0.0.1:443 and :80 inside the namespace of `pid`; pipes each connection to the lab edge."""

    def __init__(self, pid: int, targets: dict[int, int]) -> None:
        self.targets, self.listeners = targets, {}
        ours = os.open("/proc/self/ns/net", os.O_RDONLY)
        theirs = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        try:
            _setns(theirs)
            try:
                for port in targets:
                    s = socket.socket()
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", port))
                    s.listen(64)
                    self.listeners[port] = s
            finally:
                _setns(ours)
        finally:
            os.close(ours)
            os.close(theirs)
        for port, s in self.listeners.items():
            threading.Thread(target=self._accept, args=(s, targets[port]), daemon=True).start()

    def _accept(self, listener: socket.socket, port: int) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                out = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                conn.close()
                continue
            for a, b in ((conn, out), (out, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        for s in self.listeners.values():
            s.close()


def scan(edge: Any, domain: str, timeout: float = 60) -> dict[str, Any]:
    """The scanner's verdict on `domain` served by the lab `edge`: {"grade", "score", "tests": {name: ...}}."""
    work = Path(tempfile.mkdtemp(prefix="edgeverify-mdn-"))
    try:
        (work / "hosts").write_text(f"127.0.0.1 localhost {domain}\n")
        entry = scanner_dir() / "node_modules" / PACKAGE / "src" / "index.js"
        (work / "scan.mjs").write_text(SCAN_JS % entry.as_uri())
        # The shell brings lo up, mounts the hosts file, says it is ready, and waits for the forwarder.
        script = (f"ip link set lo up && mount --bind {work / 'hosts'} /etc/hosts && echo ready && read go && "
                  f"exec node {work / 'scan.mjs'} {domain}")
        env = {**os.environ, "NODE_EXTRA_CA_CERTS": edge.ca_bundle, "ABORT_TIMEOUT": "15000", "CLIENT_TIMEOUT": "15000"}
        proc = subprocess.Popen(["unshare", "-mn", "sh", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        forwarder = None
        try:
            assert proc.stdout is not None and proc.stdin is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the namespace did not start: {proc.communicate(timeout=5)[1][-2000:]}")
            forwarder = _Forwarder(proc.pid, {443: edge.https_port, 80: edge.http_port})
            out, err = proc.communicate("go\n", timeout=timeout)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
            if forwarder is not None:
                forwarder.close()
        if proc.returncode != 0 or not out.strip():
            raise RuntimeError(f"the scanner failed (exit {proc.returncode}): {err[-2000:]}")
        return dict(json.loads(out.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
