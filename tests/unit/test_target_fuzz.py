"""Fuzzed target files (issue 9, point 5): thousands of generated files, each through load_target and the
`edgeverify check-target` command in-process. Property: a valid Target that keeps every documented range, or a
TargetError naming the file in one paragraph (exit 4); never another exception, never more than a few seconds.

The outcome counts are printed at the end of the test and written to reports/fuzz-target.txt.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import io
import math
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeverify import cli, redact
from edgeverify.errors import TargetError
from edgeverify.target import RANGES, RESERVED_HEADERS, Target, load_target, normalize_host

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("EDGEVERIFY_FUZZ_EXAMPLES", "3000"))  # more for a longer local run
PER_FILE_S = 5  # SIGALRM bound on one file (load + check-target)

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
SEEDS: list[dict[str, Any]] = [
    yaml.safe_load((ROOT / "targets/example.yaml").read_text()),
    yaml.safe_load((ROOT / "targets/local-lab.yaml").read_text()),
    {"domain": "www.example.com"},
    {"domain": "www.example.test", "connect_to": ["www.example.test:443:127.0.0.1:8443"],
     "headers": {"X-Api-Key": "k-1", "Accept": "*/*"}, "timeouts": {"connect": 2, "read": 5, "total": 20, "run": 300},
     "max_connections": 8, "propagation": {"timeout": 60, "interval": 1, "max_interval": 8},
     "api": {"calls": [{"path": "/api/x", "method": "PUT", "headers": {"X-Trace": "1"}, "json": {"a": [1, 2.5, None]},
                        "expect": {"status": 201}}]},
     "cors": {"allowed_origins": ["https://app.example.test", "http://localhost:3000"], "methods": ["GET", "DELETE"],
              "send_unsafe": True},
     "https": {"redirect_statuses": [301], "post_probe": False}, "spa": {"post_root_probe": False},
     "aws": {"parity_sample": 20, "parity_concurrency": 4, "region": "eu-west-1", "bucket": "site-bucket"}},
]
SEED_TEXTS = [(ROOT / "targets/example.yaml").read_text(), (ROOT / "targets/local-lab.yaml").read_text()]

EDGE_NUMBERS = [0, -0.0, -1, 1e-9, 0.001, 0.49, 0.5, 1, 99, 100, 299, 300, 399, 400, 599, 600, 1023, 1024, 3600,
                3600.5, 3650, 3651, 86_400, 86_401, 604_801, 2 ** 30, 2 ** 30 + 1, 2 ** 31, 2 ** 63, 10 ** 400,
                math.nan, math.inf, -math.inf, 1e308]
WEIRD_TEXT = ["", " ", "..", ".", "a..b", "-a.example.com", "a-.example.com", "www.example.com.", "a" * 64 + ".com",
              ".".join(["abcdefghij"] * 30), "xn--zz.example.com", "bücher.example", "ÄÖÜ.例え.jp", "127.0.0.1", "[::1]",
              "https://www.example.com/", "www.example.com:443", "exa mple.com", "under_score.com", "x\r\ny", "x\ny",
              "a\x00b", "\u2028", "\ufeff", "😀.example.com", "/", "/a b", "/a#b", "a/b", "//x", "/\t", "${NOPE_UNSET}",
              "${EV_FUZZ_SET}", "${EV_FUZZ_UNSET:-/d}", "GET", "get", "FETCH", "Host", "content-length",
              "Transfer-Encoding", "Connection", "X Bad", "x-ok", "application/json", "json", "(", "[a-z",
              "https://app.example.com", "http://localhost:3000", "https://a.example.com:99999", "null",
              "www.example.com:443:127.0.0.1:8443", "other.example.com:443:127.0.0.1:1", "www.example.com:8443:x:1",
              "www.example.com:443::1", "us-east-1", "E1ABC", "my-stack", "x" * 9000]
TAGS = ["!!python/name:os.system", "!!python/object/apply:os.system", "!foo", "!!binary", "!!set", "!!omap", "!!str",
        "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!", "!<tag:yaml.org,2002:str>", "!!map", "!!seq"]
HEADER_NAMES = ["X-A", "x-a", "Authorization", "Host", "host", "Content-Length", "Transfer-Encoding", "Connection",
                "X Bad", "X:Y", "", "Ä", "X-\r\nB"]

scalars = st.one_of(
    st.sampled_from(EDGE_NUMBERS), st.integers(min_value=-10 ** 20, max_value=10 ** 20),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(WEIRD_TEXT), st.text(max_size=40),
    st.booleans(), st.none())
junk = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                    max_leaves=12)

OUTCOMES: collections.Counter[str] = collections.Counter()
SAMPLES: dict[str, str] = {}
SLOWEST = [0.0, ""]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, prefix + (key,))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _paths(sub, prefix + (i,))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


def _leaf(doc: Any, path: tuple[Any, ...], kinds: tuple[type, ...]) -> bool:
    value = _parent(doc, path)[path[-1]]
    return isinstance(value, kinds) and not isinstance(value, bool)


@st.composite
def structured(draw: st.DrawFn) -> str:
    """A valid target with a few values replaced, deleted or added, dumped as YAML."""
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        op = draw(st.sampled_from(["replace", "number", "text", "delete", "add", "headers"]))
        if not paths or not isinstance(doc, dict):
            doc = {"domain": draw(junk)}
            continue
        leaves = {"number": [p for p in paths if _leaf(doc, p, (int, float))],
                  "text": [p for p in paths if _leaf(doc, p, (str,))]}.get(op)
        path = draw(st.sampled_from(leaves or paths))
        parent = _parent(doc, path)
        if op in ("replace", "number", "text"):
            parent[path[-1]] = draw({"replace": junk, "number": st.sampled_from(EDGE_NUMBERS),
                                     "text": st.sampled_from(WEIRD_TEXT) | st.text(max_size=30)}[op])
        elif op == "delete":
            del parent[path[-1]]
        elif op == "add" and isinstance(parent, dict):
            name = draw(st.sampled_from([*map(str, parent), "timeout", "conect", "run", "parity_sample", "<<"])
                        | st.text(max_size=10))
            parent[name + draw(st.sampled_from(["", "s", "_"]))] = draw(junk)
        elif op == "headers":
            api = doc.get("api")
            calls = api.get("calls") if isinstance(api, dict) else None
            where = doc if not isinstance(calls, list) or not calls or draw(st.booleans()) else calls[0]
            if isinstance(where, dict):
                where["headers"] = draw(st.dictionaries(st.sampled_from(HEADER_NAMES) | st.text(max_size=8),
                                                        st.sampled_from(WEIRD_TEXT) | st.text(max_size=20), max_size=3))
    return yaml.dump(doc, Dumper=DUMPER, allow_unicode=draw(st.booleans()), sort_keys=False)


@st.composite
def textual(draw: st.DrawFn) -> bytes:
    """YAML text cut, spliced, with duplicated lines, tags, alias bombs, recursive aliases or deep nesting."""
    text = draw(st.sampled_from(SEED_TEXTS) | structured())
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "insert", "dup-line", "drop-line", "tag", "bomb", "recursive", "deep",
                                   "indent", "anchor-alias"]))
        if op == "truncate":
            text = text[:draw(st.integers(0, len(text)))]
        elif op == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.text(max_size=20) | st.sampled_from([": ", "- ", "{", "]", "&a ", "*a", "\t",
                                                                           "'", '"', "\\", "%YAML 1.1\n", "---\n"])) + text[at:]
        elif op in ("dup-line", "drop-line", "indent") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            if op == "dup-line":
                j = draw(st.integers(0, len(lines)))
                lines.insert(j, lines[i])
            elif op == "drop-line":
                del lines[i]
            else:
                lines[i] = draw(st.sampled_from(["  ", " ", "\t", "    "])) + lines[i]
            text = "".join(lines)
        elif op == "tag":
            spots = [m.end() for m in re.finditer(r": |- ", text)]
            if spots:
                at = draw(st.sampled_from(spots))
                text = text[:at] + draw(st.sampled_from(TAGS)) + " " + text[at:]
        elif op == "bomb":
            width, depth = draw(st.integers(2, 12)), draw(st.integers(2, 9))
            bomb = [f"b0: &b0 [{', '.join(['lol'] * width)}]"]
            bomb += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * width)}]" for i in range(1, depth)]
            text = text.rstrip("\n") + "\n" + "\n".join(bomb) + "\n"
        elif op == "recursive":
            text = text.rstrip("\n") + "\n" + draw(st.sampled_from(["r: &r [*r]", "r: &r {k: *r}", "r: &r [1, [2, *r]]"])) + "\n"
        elif op == "deep":
            n = draw(st.sampled_from([10, 63, 64, 65, 100, 1000, 3000]))
            kind = draw(st.sampled_from(["[]", "{}"]))
            body = (kind[0] * n + kind[1] * n) if kind == "[]" else ("{a: " * n + "1" + "}" * n)
            text = text.rstrip("\n") + "\ndeep: " + body + "\n"
        elif op == "anchor-alias":
            text = text.replace("domain: ", "domain: &d ", 1) + draw(st.sampled_from(["x: *d\n", "x: *nope\n"]))
        lines = text.splitlines(keepends=True)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0 and data:  # a few flipped bytes
        raw = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        data = bytes(raw)
    return data


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


files = st.one_of(structured().map(_utf8), structured().map(_utf8), textual(), textual(), st.binary(max_size=600),
                  st.text(max_size=300).map(_utf8))

CATEGORIES = [
    ("file: size", r"larger than"), ("file: encoding", r"not UTF-8|looks binary"), ("file: empty", r": empty;"),
    ("yaml: nesting bound", r"nested deeper|maximum nesting depth"), ("yaml: recursive alias", r"recursive alias"),
    ("yaml: alias bomb", r"aliases expand|once aliases are expanded"),
    ("yaml: syntax", r"YAML syntax error"), ("yaml: tag", r"the tag .* is not allowed|tagged|merge keys"),
    ("duplicate key", r"appears twice|also given as|a second entry"), ("unknown key", r"unknown key|old name"),
    ("missing key", r"missing required"), ("connect_to", r"HOST:PORT|never be used|never dialled|ADDR|address port"),
    ("header", r"header name|cannot be set"), ("text: control/length", r"control character|characters long"),
    ("domain/host", r"host name|label|IDNA|is an address|trailing dot|is empty|origin"),
    ("path", r"must start with '/'|white space|contains '#'"), ("range", r"out of range|shorter than|above max_interval|"
                                                                         r"must be below|needs at least|empty;"),
    ("number: nan/inf/format", r"finite number|is not a whole number|is not a number|far too large|not true or false"),
    ("type", r"expected |a key must be"), ("environment", r"environment variable"),
    ("value format", r"HTTP method|media type|regular expression|is not an AWS|is not a CloudFront|stack|bucket|URL"),
]


def _category(message: str) -> str:
    return next((name for name, pattern in CATEGORIES if re.search(pattern, message)), "other")


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _bounded(seconds: float) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise _Timeout(f"one target file took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _assert_sane(target: Target) -> None:
    """What validation promises about every Target it lets through."""
    numbers = {"timeouts.connect": target.timeouts.connect, "timeouts.read": target.timeouts.read,
               "timeouts.total": target.timeouts.total, "timeouts.run": target.timeouts.run,
               "max_body_bytes": target.max_body_bytes, "max_connections": target.max_connections,
               "propagation.timeout": target.propagation.timeout, "propagation.interval": target.propagation.interval,
               "propagation.max_interval": target.propagation.max_interval,
               "https.cert_min_days": target.https.cert_min_days,
               "aws.parity_max_objects": target.aws.parity_max_objects,
               "aws.parity_concurrency": target.aws.parity_concurrency}
    for key, value in numbers.items():
        if value is not None:
            lo, hi = RANGES[key]
            assert math.isfinite(value) and lo <= value <= hi, (key, value)
    assert target.timeouts.connect <= target.timeouts.total
    assert target.propagation.interval <= target.propagation.max_interval
    assert math.isfinite(target.run_deadline_s()) and target.run_deadline_s() >= target.propagation.timeout
    assert target.https.redirect_statuses and all(300 <= s <= 399 for s in target.https.redirect_statuses)
    assert all(100 <= c.expect.status <= 599 for c in target.api.calls)
    assert normalize_host(target.domain) == target.domain
    assert all(spec.split(":")[0] == target.domain for spec in target.connect_to)
    for headers in [target.headers, *(c.headers for c in target.api.calls)]:
        for name, value in headers.items():
            assert re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) and name.lower() not in RESERVED_HEADERS
            assert not re.search(r"[\r\n\x00]", value)
    for path in [*target.static.pages, *target.static.assets, *target.spa.deep_links, *(c.path for c in target.api.calls)]:
        assert path.startswith("/") and not re.search(r"[\s#]", path)
    assert target.static.pages and target.static.compress_min_bytes < target.static.compress_max_bytes


def _exercise(path: Path) -> str:
    started = time.perf_counter()
    with _bounded(PER_FILE_S):
        try:
            target = load_target(path)
        except TargetError as exc:
            message, outcome = str(exc), None
        else:
            _assert_sane(target)
            message, outcome = "", "valid"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(["check-target", str(path)])
    elapsed = time.perf_counter() - started
    if elapsed > SLOWEST[0]:
        SLOWEST[:] = [elapsed, path.read_bytes()[:80].decode("utf-8", "replace")]
    if outcome == "valid":
        assert status == 0 and "valid target for" in out.getvalue(), err.getvalue()
        return outcome
    assert message.startswith(f"Target file {path}"), message
    assert "\n" not in message and len(message) < 1000, message
    assert status == 4 and err.getvalue() == f"edgeverify: {message}\n"
    category = _category(message)
    SAMPLES.setdefault(category, message.split(": ", 1)[1][:160])
    return "refused: " + category


def _summary(wall: float) -> str:
    total = sum(OUTCOMES.values())
    lines = [f"edgeverify target fuzz: {total} generated files through load_target and check-target in {wall:.1f} s "
             f"(slowest file {SLOWEST[0] * 1000:.0f} ms); zero other exceptions, zero timeouts (bound {PER_FILE_S} s)"]
    for outcome, count in OUTCOMES.most_common():
        sample = SAMPLES.get(outcome.removeprefix("refused: "), "")
        lines.append(f"  {count:6d}  {outcome}" + (f"    e.g. {sample}" if sample else ""))
    return "\n".join(lines) + "\n"


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, print_blob=True,
          suppress_health_check=list(HealthCheck))
@given(data=files)
def _fuzz(tmp: Path, data: bytes) -> None:
    path = tmp / "fuzz.yaml"
    path.write_bytes(data)
    with redact.secrets_scope():  # ${VAR} values met while fuzzing must not leak into other tests' redaction
        OUTCOMES[_exercise(path)] += 1


def test_generated_target_files_are_valid_or_refused_with_the_file_named(tmp_path, monkeypatch, request):
    monkeypatch.setenv("EV_FUZZ_SET", "/set-value")
    OUTCOMES.clear()
    SAMPLES.clear()
    started = time.perf_counter()
    _fuzz(tmp_path)
    summary = _summary(time.perf_counter() - started)
    reports = ROOT / "reports"
    if reports.is_dir():
        (reports / "fuzz-target.txt").write_text(summary)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + summary, end="")
    assert sum(OUTCOMES.values()) >= EXAMPLES
    assert OUTCOMES["valid"] > EXAMPLES // 50, summary  # the generator also reaches valid files
    refused = [k for k in OUTCOMES if k.startswith("refused: ")]
    assert len(refused) >= 12, summary  # and many different refusals
