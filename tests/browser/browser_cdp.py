"""A headless Chromium driven over the DevTools protocol, for the browser-agreement test.

The browser reaches only the lab: --host-resolver-rules maps the lab's host names to its loopback ports and
sends every other name nowhere; the lab certificate is trusted by its public-key hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CHROMIUM = os.environ.get("EDGEVERIFY_CHROMIUM", "/usr/bin/chromium")
START_TIMEOUT = 60.0  # a cold Chromium on a busy 2-core machine can take tens of seconds
STEP_TIMEOUT = 15.0
SETTLE_S = 1.0  # after the load event: module scripts and their failures arrive a little later


def spki_hash(chain_pem: Path) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of the first certificate: --ignore-certificate-errors-spki-list."""
    cert = x509.load_pem_x509_certificate(chain_pem.read_bytes())
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@dataclass
class Verdict:
    """What the browser did with a page or a fetch: the refusals it reported, in its own words."""

    refusals: list[str] = field(default_factory=list)
    result: str = ""  # a fetch's outcome ("ok 200" / "blocked TypeError: ...") or the page's load state

    @property
    def refused(self) -> bool:
        return bool(self.refusals)


REFUSAL_WORDS = ("mixed content", "mime type", "access-control-allow", "cors", "refused to", "blocked")


class Chromium:
    """One headless Chromium with one page, reached over its DevTools websocket."""

    def __init__(self, host_rules: str, spki: str) -> None:
        import websocket  # websocket-client

        self._profile = tempfile.mkdtemp(prefix="edgeverify-chromium-")
        self._proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
             f"--user-data-dir={self._profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--host-resolver-rules={host_rules}",
             f"--ignore-certificate-errors-spki-list={spki}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port = self._devtools_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
            pages = [t for t in json.load(answer) if t.get("type") == "page"]
        self._ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=STEP_TIMEOUT,
                                               suppress_origin=True)
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Network.setCacheDisabled", cacheDisabled=True)

    def _devtools_port(self) -> int:
        active = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._proc.returncode} before opening DevTools")
            if active.exists() and active.read_text().strip():
                return int(active.read_text().split()[0])
            time.sleep(0.05)
        raise RuntimeError(f"chromium opened no DevTools port within {START_TIMEOUT:.0f} s")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self._events.append(message)
        raise TimeoutError(f"{method}: no answer within {STEP_TIMEOUT:.0f} s")

    def _drain(self, seconds: float, until: str | None = None) -> None:
        deadline = time.monotonic() + seconds
        self._ws.settimeout(0.1)
        try:
            while time.monotonic() < deadline:
                try:
                    message = json.loads(self._ws.recv())
                except Exception:  # websocket timeout: nothing new yet
                    continue
                self._events.append(message)
                if until and message.get("method") == until:
                    until = None
                    deadline = min(deadline, time.monotonic() + SETTLE_S)
        finally:
            self._ws.settimeout(STEP_TIMEOUT)

    def _refusals(self) -> list[str]:
        found = []
        for event in self._events:
            method, params = event.get("method"), event.get("params", {})
            text = ""
            if method == "Log.entryAdded" and params["entry"].get("level") == "error":
                text = params["entry"].get("text", "")
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            elif method == "Runtime.exceptionThrown":
                text = params["exceptionDetails"].get("exception", {}).get("description", "") or \
                    params["exceptionDetails"].get("text", "")
            elif method == "Network.loadingFailed" and (params.get("blockedReason") or params.get("corsErrorStatus")):
                reason = params.get("blockedReason") or params["corsErrorStatus"].get("corsError")
                text = f"blocked request ({reason})"
            if text and any(w in text.lower() for w in REFUSAL_WORDS):
                found.append(" ".join(text.split())[:240])
        return list(dict.fromkeys(found))

    def load(self, url: str) -> Verdict:
        """Open a page and report what the browser refused while loading it."""
        self._events.clear()
        self.call("Page.navigate", url=url)
        self._drain(STEP_TIMEOUT, until="Page.loadEventFired")
        return Verdict(self._refusals(), "loaded")

    def fetch(self, url: str, method: str, credentials: bool, body: str | None = None) -> Verdict:
        """Run fetch() from the current page (its origin) and report whether the browser let the page read it."""
        self._events.clear()
        init = {"method": method, "credentials": "include" if credentials else "same-origin",
                "headers": {"content-type": "application/json"}}
        if body is not None:
            init["body"] = body
        script = (f"fetch({json.dumps(url)}, {json.dumps(init)})"
                  ".then(r => 'ok ' + r.status, e => 'blocked ' + e)")
        result = self.call("Runtime.evaluate", expression=script, awaitPromise=True, returnByValue=True)
        outcome = str(result.get("result", {}).get("value", ""))
        self._drain(SETTLE_S)
        refusals = self._refusals()
        if outcome.startswith("blocked"):
            refusals = refusals or [outcome]
        return Verdict(refusals, outcome)

    def close(self) -> None:
        try:
            self._ws.close()
        finally:
            if self._proc.poll() is None:
                os.killpg(self._proc.pid, 15)
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(self._proc.pid, 9)
                    self._proc.wait(5)
            shutil.rmtree(self._profile, ignore_errors=True)
