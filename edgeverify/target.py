"""The target model: one deployed domain, loaded from YAML and validated before anything runs.

The dataclasses below are the schema. The loader first scans PyYAML's event stream (bounded size, nesting
and alias expansion, no recursive aliases), then walks the node tree (which keeps line numbers) against
the dataclasses, checking types and ranges, so every error names the file, the line and the key path.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import ipaddress
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import idna
import yaml

from .errors import TargetError
from .redact import redact, register_secret
from .textfile import MAX_BYTES as MAX_FILE_BYTES  # noqa: F401 - the limit a target file is held to
from .textfile import read_text


@dataclass(slots=True)
class Timeouts:
    connect: float = 5.0  # seconds to open the TCP+TLS connection
    read: float = 10.0  # seconds of silence tolerated between bytes
    total: float = 30.0  # seconds for the whole exchange, however the server drips
    run: float | None = None  # run-wide deadline; None: propagation.timeout + RUN_MARGIN_S


@dataclass(slots=True)
class Propagation:
    timeout: float = 0.0  # seconds a failing check is retried after the run starts (0: check once)
    interval: float = 2.0  # first wait between attempts
    max_interval: float = 15.0  # backoff cap; above CloudFront's 10 s error caching
    release_marker: str | None = None  # text the entry document must contain (a build id)
    previous_entry: str | None = None  # a saved copy (file) of the previous release's entry document; empty: none


@dataclass(slots=True)
class Static:
    pages: list[str] = field(default_factory=lambda: ["/"])
    assets: list[str] = field(default_factory=list)  # served paths beyond those the pages reference
    discover: bool = True  # find assets from the entry document's tags
    compress_min_bytes: int = 1000
    compress_max_bytes: int = 10_000_000


@dataclass(slots=True)
class Expect:
    status: int = 200
    json: Any = None  # a subset the JSON body must contain
    content_type: str = "application/json"


@dataclass(slots=True)
class ApiCall:
    path: str
    method: str = "GET"
    name: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    expect: Expect = field(default_factory=Expect)
    repeat_safe: bool | None = None  # default: True for GET/HEAD/OPTIONS, False otherwise

    @property
    def label(self) -> str:
        return self.name or f"{self.method} {self.path}"

    @property
    def may_repeat(self) -> bool:
        if self.repeat_safe is not None:
            return self.repeat_safe
        return self.method.upper() in {"GET", "HEAD", "OPTIONS"}


@dataclass(slots=True)
class Api:
    prefix: str = "/api/"
    calls: list[ApiCall] = field(default_factory=list)
    unknown_path: str | None = None  # defaults to <prefix>__edgeverify_no_such_route
    never_cached: list[str] = field(default_factory=list)  # GETs answering a per-request value

    @property
    def probe_path(self) -> str:
        return self.unknown_path or self.prefix.rstrip("/") + "/__edgeverify_no_such_route"


@dataclass(slots=True)
class Cache:
    immutable_min_max_age: int = 31_536_000
    html_max_max_age: int = 180
    fingerprint_pattern: str = r"[.-][0-9a-zA-Z_-]{6,}\.[a-z0-9]+$"


@dataclass(slots=True)
class Cors:
    allowed_origins: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # API paths a browser calls cross-origin
    methods: list[str] = field(default_factory=lambda: ["GET", "POST"])
    request_headers: list[str] = field(default_factory=lambda: ["content-type"])
    credentials: bool = False
    refused_origins: list[str] = field(default_factory=list)  # probed beyond the built-in classes
    send_unsafe: bool = False  # cors checks may send a declared unsafe api call (with Origin)


@dataclass(slots=True)
class Https:
    hsts_min_max_age: int = 31_536_000
    cert_min_days: int = 14
    redirect_statuses: list[int] = field(default_factory=lambda: [301, 308])
    post_probe: bool = True  # send the HTTP->HTTPS POST probe (state-changing on a broken edge)
    http3: bool = False  # the distribution's HttpVersion includes HTTP/3 (http2and3): https.http3 verifies it


@dataclass(slots=True)
class Spa:
    fallback: bool = True  # the app routes deep links client-side
    deep_links: list[str] = field(default_factory=list)
    random_deep_link: bool = True
    post_root_probe: bool = True  # send POST / (spa.post_root)


@dataclass(slots=True)
class Security:
    min_grade: str = "A"  # the lowest MDN HTTP Observatory grade accepted: A+ .. F
    script_cookies: list[str] = field(default_factory=list)  # cookies the app's scripts read: HttpOnly not required
    source_maps: str = "advisory"  # advisory | fail: whether served source maps fail the run
    exposure_paths: list[str] = field(default_factory=list)  # more paths that must not answer with content


@dataclass(slots=True)
class Origins:
    """The distribution's origin endpoints, asked directly (around CloudFront) by security.origin_direct: each must
    refuse. Not named: read from the distribution when the target names one (aws), else not checked."""

    bucket: str | None = None  # the S3 REST endpoint (+ OriginPath): https://BUCKET.s3.REGION.amazonaws.com[/PATH]
    website: str | None = None  # an S3 website endpoint: http://BUCKET.s3-website-REGION.amazonaws.com[/PATH]
    api: str | None = None  # the execute-api URL (+ stage): https://ID.execute-api.REGION.amazonaws.com[/STAGE]

    def named(self) -> list[tuple[str, str]]:
        """(kind, URL) of each endpoint given."""
        return [(k, v) for k in ("bucket", "website", "api") if (v := getattr(self, k))]


@dataclass(slots=True)
class Aws:
    distribution_id: str | None = None
    stack: str | None = None
    region: str | None = None
    endpoint_url: str | None = None  # moto or another endpoint; also AWS_ENDPOINT_URL
    bucket: str | None = None
    bucket_prefix: str = ""
    parity_max_objects: int = 10_000  # every object compared up to this many, a sample above
    parity_concurrency: int = 16
    wait: bool = True  # wait for Deployed and invalidations before the suites

    @property
    def parity_sample(self) -> int:
        """Deprecated name of parity_max_objects (still accepted in target files)."""
        return self.parity_max_objects


@dataclass(slots=True)
class Edges:
    mode: str = "nearest"  # nearest | dns | regions | addresses (see edgeverify/edges)
    regions: list[str] = field(default_factory=list)  # regions mode: names from the built-in table (default: all)
    prefixes: dict[str, str] = field(default_factory=dict)  # region -> client prefix, added to / overriding the table
    addresses: list[str] = field(default_factory=list)  # addresses mode: edge IP addresses
    nameservers: list[str] = field(default_factory=list)  # host[:port]; default: the domain's authoritative servers
    max_edges: int = 20
    concurrency: int = 8  # edges verified at once
    dns_timeout: float = 3.0  # seconds for one DNS query


@dataclass(slots=True)
class Browser:
    """The browser suite: what tells that the app has rendered, and how long it may take."""

    ready: str | None = None  # a CSS selector the app renders once started, e.g. "#root > *"; None: not waited for
    ready_within: float = 10.0  # seconds after navigation start the selector must appear within


@dataclass(slots=True)
class Ipv6:
    """IPv6: verified when enabled, or (enabled null) when the domain has AAAA records."""

    enabled: bool | None = None  # true: the edge must serve IPv6; false: never checked; null: when DNS has AAAA
    addresses: list[str] = field(default_factory=list)  # IPv6 edge addresses to verify instead of the AAAA records


@dataclass(slots=True)
class Budget:
    """Latency budgets of one kind of request, in ms (None: not declared)."""

    ttfb_p95_ms: float | None = None
    total_p95_ms: float | None = None


@dataclass(slots=True)
class Budgets:
    """Declared latency budgets per kind of request: exceeding one fails the latency rule (undeclared: advisory)."""

    document: Budget = field(default_factory=Budget)
    asset: Budget = field(default_factory=Budget)
    api: Budget = field(default_factory=Budget)
    samples: int = 10  # requests of each kind the latency check sends

    @property
    def declared(self) -> bool:
        return any(v is not None for b in (self.document, self.asset, self.api) for v in (b.ttfb_p95_ms, b.total_p95_ms))


@dataclass(slots=True)
class Target:
    domain: str
    connect_to: list[str] = field(default_factory=list)
    ca_bundle: str | None = None
    insecure: bool = False  # TLS verification off; loudly reported
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_body_bytes: int = 10_000_000
    max_connections: int = 16  # concurrent connections per edge address
    http2: bool = True  # offer HTTP/2 (as browsers and CloudFront do): many requests multiplexed per connection
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request
    static: Static = field(default_factory=Static)
    api: Api = field(default_factory=Api)
    cache: Cache = field(default_factory=Cache)
    cors: Cors | None = None
    https: Https = field(default_factory=Https)
    spa: Spa = field(default_factory=Spa)
    security: Security = field(default_factory=Security)
    origins: Origins = field(default_factory=Origins)
    propagation: Propagation = field(default_factory=Propagation)
    aws: Aws = field(default_factory=Aws)
    edges: Edges = field(default_factory=Edges)
    template: str | None = None  # the CloudFormation/SAM/cdk synth template that deploys it (edgeverify audit)
    browser: Browser = field(default_factory=Browser)
    budgets: Budgets | None = None  # latency budgets; None: the latency rule is advisory, against its defaults
    ipv6: Ipv6 = field(default_factory=Ipv6)
    source: str = ""  # the file it came from; not a YAML key
    recalled: Any = None  # skew.Recalled: the releases the run history recorded, read before the checks; not a key

    def url(self, path: str, scheme: str = "https") -> str:
        return f"{scheme}://{self.domain}{path if path.startswith('/') else '/' + path}"

    def run_deadline_s(self) -> float:
        """Seconds the whole run may take: timeouts.run, or the propagation deadline plus a margin."""
        if self.timeouts.run is not None:
            return self.timeouts.run
        return self.propagation.timeout + RUN_MARGIN_S


RUN_MARGIN_S = 120.0  # run deadline beyond the propagation deadline when timeouts.run is not set
MAX_DEPTH = 64  # nesting of lists and mappings, aliases expanded
MAX_ALIAS_NODES = 10_000  # values added by expanding aliases
MAX_NODES = 50_000  # values in the document, aliases expanded
MAX_CHARS = 4_000_000  # characters of text in the document, aliases expanded
MAX_TEXT = 8192  # characters in one text value (outside request bodies)
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

# Inclusive ranges of every number, by key path ("expect.status" is api.calls[].expect.status).
RANGES: dict[str, tuple[float, float]] = {
    "timeouts.connect": (0.001, 3600), "timeouts.read": (0.001, 3600), "timeouts.total": (0.001, 3600),
    "timeouts.run": (1, 604_800),  # as --run-timeout
    "max_body_bytes": (1024, 1_073_741_824), "max_connections": (1, 256),
    "static.compress_min_bytes": (0, 1_073_741_824), "static.compress_max_bytes": (0, 1_073_741_824),
    "expect.status": (100, 599),
    "cache.immutable_min_max_age": (0, 2_147_483_648), "cache.html_max_max_age": (0, 2_147_483_648),
    "https.hsts_min_max_age": (0, 2_147_483_648), "https.cert_min_days": (0, 3650),
    "https.redirect_statuses": (300, 399),
    "propagation.timeout": (0, 86_400), "propagation.interval": (0.5, 3600), "propagation.max_interval": (0.5, 3600),
    "aws.parity_max_objects": (1, 1_000_000), "aws.parity_concurrency": (1, 128),
    "browser.ready_within": (0.1, 600),
    "budget.ttfb_p95_ms": (1, 600_000), "budget.total_p95_ms": (1, 600_000), "budgets.samples": (3, 100),
}
_SECTIONS = {"Target": "", "Timeouts": "timeouts", "Static": "static", "Expect": "expect", "Cache": "cache",
             "Https": "https", "Propagation": "propagation", "Aws": "aws", "Browser": "browser",
             "Budget": "budget", "Budgets": "budgets"}
_ALIASES = {"Aws": {"parity_sample": "parity_max_objects"}}  # deprecated key -> its current name
_NOT_KEYS = {"source", "recalled"}
_NO_SECRETS = {"domain", "connect_to", "ca_bundle"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_CONNECT_TO = re.compile(r"^([^:\s]*):(\d*):(\[[0-9a-fA-F:]+\]|[^:\s]*):(\d*)$")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_MEDIA_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_ORIGIN = re.compile(r"(https?)://(\[[0-9A-Fa-f:.]+\]|[^/:\s?#\[\]@]+)(?::(\d{1,5}))?")
_LDH = re.compile(r"[a-z0-9-]+")
# Origin endpoint host names (as CloudFront's Origins.DomainName holds them): virtual-hosted S3 REST (regional,
# legacy global, dualstack), S3 website (both spellings), API Gateway's default execute-api host.
_S3_REST_HOST = re.compile(r"(?:[a-z0-9][a-z0-9.-]*\.)?s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?")
_S3_WEBSITE_HOST = re.compile(r"[a-z0-9][a-z0-9.-]*\.s3-website[.-][a-z0-9-]+\.amazonaws\.com(?:\.cn)?")
_EXECUTE_API_HOST = re.compile(r"[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?")
_ORIGIN_SHAPES = {"bucket": ("https://BUCKET.s3.REGION.amazonaws.com", "https"),
                  "website": ("http://BUCKET.s3-website-REGION.amazonaws.com", "http"),
                  "api": ("https://ID.execute-api.REGION.amazonaws.com/STAGE", "https")}
_YAML = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")}
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCT = yaml.constructor.SafeConstructor()


def load_target(path: str | os.PathLike[str]) -> Target:
    """Read, interpolate and validate a target file, or raise TargetError saying where it is wrong."""
    name = str(path)
    text = read_text(path, f"Target file {name}", TargetError,
                     missing=" (give a YAML file with --target, e.g. targets/example.yaml)",
                     too_large=" (1 MB); a target file is a short YAML text, is this the right file?")
    try:
        _scan(text, name)
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise _syntax_error(name, text, exc) from None
    if node is None:
        raise TargetError(f"Target file {name}: empty; it needs at least 'domain: www.example.com'.")
    target = _build(Target, node, _Ctx(name, ""))
    target.source = name
    return target


def validate_seconds(value: float, what: str, minimum: float, maximum: float) -> float:
    """`value` as float if it is a finite number of seconds in [minimum, maximum], else TargetError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TargetError(f"{what}: expected a number of seconds, got {_show(value)}.")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        raise TargetError(f"{what}: {_show(value)} is not a finite number of seconds "
                          f"(give {_num(minimum)} to {_num(maximum)}).")
    if not minimum <= seconds <= maximum:
        raise TargetError(f"{what}: {_num(value)} s is out of range; give {_num(minimum)} to {_num(maximum)} seconds.")
    return seconds


def parse_connect_to(spec: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """curl --connect-to HOST:PORT:ADDR:PORT -> ((host, port), (addr, port)); empty parts not allowed."""
    m = _CONNECT_TO.match(spec.strip())
    if not m or not all(m.groups()):
        raise ValueError(f"{_show(spec)} is not HOST:PORT:ADDR:PORT (e.g. www.example.com:443:127.0.0.1:8443)")
    host, port, addr, addr_port = m.groups()
    return (host.lower(), int(port)), (addr.strip("[]"), int(addr_port))


def origin_kind(host: str) -> str | None:
    """'bucket', 'website' or 'api' when `host` is an S3 REST, S3 website or execute-api endpoint's name."""
    host = host.lower()
    if _S3_WEBSITE_HOST.fullmatch(host):
        return "website"
    if _S3_REST_HOST.fullmatch(host):
        return "bucket"
    if _EXECUTE_API_HOST.fullmatch(host):
        return "api"
    return None


def check_connect_to(spec: str, domain: str) -> str:
    """One connect_to entry for `domain` (or for an origin endpoint: S3, execute-api, which security.origin_direct
    asks directly), normalised; ValueError saying why it would not work."""
    (host, port), (addr, addr_port) = parse_connect_to(spec)
    try:
        host = normalize_host(host)
    except ValueError as exc:
        raise ValueError(f"{_show(spec)}: its HOST {exc}") from None
    if host != domain and origin_kind(host) is None:
        raise ValueError(f"{_show(spec)} is for host '{host}', not the target's domain '{domain}'; it would never be "
                         f"used (write {domain}:{port}:{addr}:{addr_port}; besides the domain, only S3 and execute-api "
                         f"origin endpoints are dialled)")
    if port not in (80, 443):
        raise ValueError(f"{_show(spec)}: PORT {port} is never dialled; edgeverify connects to 443 (https) and "
                         f"80 (http), so map {domain}:443 and/or {domain}:80")
    if not 1 <= addr_port <= 65535:
        raise ValueError(f"{_show(spec)}: the address port {addr_port} is not 1 to 65535")
    if "[" in spec.strip().split(":", 2)[-1].split("]")[0]:  # a bracketed ADDR is an IPv6 address, never a name
        try:
            ipaddress.IPv6Address(addr)
        except ValueError:
            raise ValueError(f"{_show(spec)}: the ADDR [{addr}] is not an IPv6 address") from None
    try:
        ipaddress.ip_address(addr)
    except ValueError:
        try:
            normalize_host(addr, single_label=True, numeric=True)
        except ValueError as exc:
            raise ValueError(f"{_show(spec)}: the ADDR {exc}") from None
    address = f"[{addr}]" if ":" in addr else addr
    return f"{host}:{port}:{address}:{addr_port}"


def normalize_host(host: str, *, single_label: bool = False, numeric: bool = False) -> str:
    """A DNS host name in lower-case ASCII (IDNA A-labels), or ValueError saying what is wrong with it."""
    if not host:
        raise ValueError("is empty")
    if len(host) > 1024:
        raise ValueError(f"is {len(host):,} characters long; a host name has at most 253")
    if host.endswith(".") and not host.endswith("..") and host != ".":
        raise ValueError(f"{_show(host)} ends with a dot; write it without the trailing dot")
    if re.search(r"[/:@?#\s]", host):
        raise ValueError(f"{_show(host)} is not a host name: no scheme, port, path or spaces "
                         f"(write e.g. www.example.com)")
    if not host.isascii():
        try:
            host = idna.uts46_remap(host, std3_rules=True, transitional=False)
        except (idna.IDNAError, ValueError) as exc:
            raise ValueError(f"{_show(host)} is not a valid international host name (IDNA: {_show(str(exc))})") from None
    labels = host.split(".")
    out = []
    for label in labels:
        if not label:
            raise ValueError(f"{_show(host)} has an empty label (a leading dot or '..')")
        try:
            ascii_label = idna.alabel(label).decode("ascii") if not label.isascii() else label.lower()
            if ascii_label.startswith("xn--"):
                idna.ulabel(ascii_label)
        except (idna.IDNAError, ValueError) as exc:
            raise ValueError(f"{_show(host)}: label {_show(label)} is not valid IDNA ({_show(str(exc))})") from None
        if len(ascii_label) > 63:
            raise ValueError(f"{_show(host)}: label {_show(label)} is {len(ascii_label)} characters; at most 63")
        if not _LDH.fullmatch(ascii_label):
            raise ValueError(f"{_show(host)}: label {_show(label)} may only hold letters, digits and '-'")
        if ascii_label.startswith("-") or ascii_label.endswith("-"):
            raise ValueError(f"{_show(host)}: label {_show(label)} starts or ends with '-'")
        out.append(ascii_label)
    name = ".".join(out)
    if len(name) > 253:
        raise ValueError(f"{_show(host)} is {len(name)} characters; a host name has at most 253")
    if len(out) < 2 and not single_label:
        raise ValueError(f"{_show(host)} is not a full host name (write e.g. www.example.com)")
    if out[-1].isdigit() and not numeric:
        raise ValueError(f"{_show(host)} is an address, not a host name (reach an address with connect_to)")
    return name


@dataclass(slots=True)
class _Ctx:
    file: str
    key: str

    def child(self, key: str | int) -> _Ctx:
        sub = f"{self.key}[{key}]" if isinstance(key, int) else (f"{self.key}.{_show(key, 40, quote=False)}"
                                                                 if self.key else _show(key, 40, quote=False))
        return _Ctx(self.file, sub)

    def fail(self, node: yaml.Node | yaml.Mark, message: str) -> TargetError:
        mark = node.start_mark if isinstance(node, yaml.Node) else node
        key = f", key '{_short_key(self.key)}'" if self.key else ""
        return TargetError(f"Target file {self.file}, line {mark.line + 1}{key}: {message}")


@dataclass(slots=True)
class _Frame:
    """One open list or mapping while scanning events."""

    anchor: str | None
    is_list: bool
    nodes_before: int
    chars_before: int
    depth: int  # its own nesting level
    deepest: int  # the deepest level reached inside it, aliases expanded
    index: int = 0  # lists: position of the next item
    key: str = ""  # mappings: the current key
    at_key: bool = True  # mappings: the next node is a key

    def step(self, was_key: bool) -> None:
        """One node inside is complete."""
        if self.is_list:
            self.index += 1
        else:
            self.at_key = not was_key


def _scan(text: str, name: str) -> None:
    """Bound the document before composing it: nesting, size after alias expansion, recursive aliases."""
    anchors: dict[str, tuple[int, int, int]] = {}  # closed anchor -> (values, characters, height)
    frames: list[_Frame] = []
    nodes = chars = alias_nodes = 0

    def fail(event: Any, message: str) -> TargetError:
        key = "".join(f"[{f.index}]" if f.is_list else f".{f.key}" for f in frames).lstrip(".")
        where = f", key '{_short_key(key)}'" if key else ""
        return TargetError(f"Target file {name}, line {event.start_mark.line + 1}{where}: {message}")

    for event in yaml.parse(text, Loader=_LOADER):
        parent = frames[-1] if frames else None
        is_key = parent is not None and not parent.is_list and parent.at_key
        if isinstance(event, yaml.AliasEvent):
            if any(f.anchor == event.anchor for f in frames):
                raise fail(event, f"the alias *{_show(event.anchor, 40, quote=False)} refers to a collection "
                                  f"that contains it (a recursive alias); targets cannot be recursive.")
            size, length, height = anchors.get(event.anchor, (1, 0, 0))
            nodes, chars, alias_nodes = nodes + size, chars + length, alias_nodes + size
            if len(frames) + height > MAX_DEPTH:
                raise fail(event, f"nested deeper than {MAX_DEPTH} levels once the alias "
                                  f"*{_show(event.anchor, 40, quote=False)} is expanded.")
            for frame in frames:
                frame.deepest = max(frame.deepest, len(frames) + height)
        elif isinstance(event, yaml.ScalarEvent):
            nodes, chars = nodes + 1, chars + len(event.value)
            if event.anchor:
                anchors[event.anchor] = (1, len(event.value), 0)
            if is_key and parent is not None:
                parent.key = _show(event.value, 40, quote=False)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(frames) >= MAX_DEPTH:
                raise fail(event, f"nested deeper than {MAX_DEPTH} levels; a target is a few levels deep.")
            frames.append(_Frame(event.anchor, isinstance(event, yaml.SequenceStartEvent), nodes, chars,
                                 len(frames) + 1, len(frames) + 1))
            nodes += 1
            for frame in frames:
                frame.deepest = max(frame.deepest, len(frames))
            continue
        elif isinstance(event, yaml.CollectionEndEvent) and frames:
            frame = frames.pop()
            if frame.anchor:
                anchors[frame.anchor] = (nodes - frame.nodes_before, chars - frame.chars_before,
                                         frame.deepest - frame.depth + 1)
            parent = frames[-1] if frames else None
            is_key = parent is not None and not parent.is_list and parent.at_key
        else:
            continue
        if alias_nodes > MAX_ALIAS_NODES:
            raise fail(event, f"aliases expand to more than {MAX_ALIAS_NODES:,} values (an alias bomb?); "
                              f"write the values out.")
        if nodes > MAX_NODES or chars > MAX_CHARS:
            raise fail(event, f"more than {MAX_NODES:,} values or {MAX_CHARS:,} characters once aliases "
                              f"are expanded; a target is much smaller.")
        if parent is not None:
            parent.step(is_key)


def _short_key(key: str) -> str:
    return key if len(key) <= 100 else key[:60] + "…" + key[-30:]


def _syntax_error(name: str, text: str, exc: yaml.YAMLError) -> TargetError:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[:exc.position].count("\n") + 1
        return TargetError(f"Target file {name}, line {line}: YAML syntax error: character "
                           f"#x{exc.character if isinstance(exc.character, int) else ord(exc.character):04x} is not "
                           f"allowed in YAML text ({exc.reason}).")
    mark = getattr(exc, "problem_mark", None)
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context and context not in problem else problem
    return TargetError(f"Target file {name}{where}: YAML syntax error: {_show(detail, 200, quote=False)}.")


def _check_tag(node: yaml.Node, ctx: _Ctx) -> None:
    if node.tag in _PLAIN_TAGS:
        return
    tag = "!!" + node.tag[len(_YAML):] if node.tag.startswith(_YAML) else node.tag
    if node.tag == _YAML + "merge":
        raise ctx.fail(node, "YAML merge keys ('<<') are not supported; write the keys out.")
    raise ctx.fail(node, f"the tag {_show(tag, 60, quote=False)} is not allowed; a target is plain YAML (text, "
                         f"numbers, true/false, lists and mappings), so remove the tag.")


def _pairs(node: yaml.MappingNode, ctx: _Ctx) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """A mapping's (key, key node, value node), refusing non-text keys, merge keys and duplicates."""
    seen: dict[str, yaml.Node] = {}
    out = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise ctx.fail(key_node, f"a key must be a plain name, not {_describe(key_node)}.")
        _check_tag(key_node, ctx)
        key = str(key_node.value)
        if key in seen:
            raise ctx.child(key).fail(key_node, f"the key '{_show(key, 40, quote=False)}' appears twice (lines "
                                                f"{seen[key].start_mark.line + 1} and {key_node.start_mark.line + 1}); "
                                                f"the last would silently win, so keep one.")
        seen[key] = key_node
        out.append((key, key_node, value_node))
    return out


def _build(tp: Any, node: yaml.Node, ctx: _Ctx) -> Any:
    _check_tag(node, ctx)
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if isinstance(node, yaml.ScalarNode) and node.tag == _YAML + "null":
            return None
        return _build(options[0], node, ctx)
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, node, ctx)
    if origin is list:
        if not isinstance(node, yaml.SequenceNode):
            raise ctx.fail(node, f"expected a list, got {_describe(node)}.")
        (item,) = typing.get_args(tp)
        return [_build(item, n, ctx.child(i)) for i, n in enumerate(node.value)]
    if origin is dict:
        if not isinstance(node, yaml.MappingNode):
            raise ctx.fail(node, f"expected a mapping of names to values, got {_describe(node)}.")
        return {k: _build(str, v, ctx.child(k)) for k, _, v in _pairs(node, ctx)}
    if tp is Any:
        return _plain(node, ctx)
    if not isinstance(node, yaml.ScalarNode):
        raise ctx.fail(node, f"expected {_type_name(tp)}, got {_describe(node)}.")
    value = _scalar(node, ctx)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise ctx.fail(node, f"{_show(node.value)} is far too large.") from None
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = node.value
    if tp is str and isinstance(value, str):
        return _check_text(value, node, ctx)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        hint = ""
        if tp is bool and isinstance(value, str):
            close = difflib.get_close_matches(value.lower(), ["true", "false"], n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
        got = _describe(node) if value is None else f"{_describe(node)} {_show(node.value)}"
        raise ctx.fail(node, f"expected {_type_name(tp)}, got {got}.{hint}")
    return value


def _check_text(value: str, node: yaml.ScalarNode, ctx: _Ctx) -> str:
    if len(value) > MAX_TEXT:
        raise ctx.fail(node, f"the text is {len(value):,} characters long; at most {MAX_TEXT:,}.")
    bad = next((c for c in value if (ord(c) < 32 and c != "\t") or ord(c) == 127 or c in "\u2028\u2029\x85"), None)
    if bad is not None:
        via = " (after ${VAR} substitution: check the variable, e.g. for a trailing newline)" if "${" in node.value else ""
        raise ctx.fail(node, f"the text contains the control character {repr(bad)}{via}; values are one line.")
    return value


@functools.cache
def _schema(tp: Any) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A dataclass's resolved type hints and its YAML keys (resolving string annotations is slow)."""
    return typing.get_type_hints(tp), {f.name: f for f in dataclasses.fields(tp) if f.name not in _NOT_KEYS}


def _build_dataclass(tp: Any, node: yaml.Node, ctx: _Ctx) -> Any:
    if not isinstance(node, yaml.MappingNode):
        raise ctx.fail(node, f"expected a mapping (section '{ctx.key or 'top level'}'), got {_describe(node)}.")
    hints, fields = _schema(tp)
    aliases = _ALIASES.get(tp.__name__, {})
    values: dict[str, Any] = {}
    lines: dict[str, yaml.Node] = {}
    written: dict[str, str] = {}
    for key, key_node, value_node in _pairs(node, ctx):
        field_name = aliases.get(key, key)
        if field_name not in fields:
            close = difflib.get_close_matches(key, list(fields) + list(aliases), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else f" Known keys: {', '.join(fields)}."
            raise ctx.child(key).fail(key_node, f"unknown key '{_show(key, 40, quote=False)}'.{hint}")
        if field_name in values:
            old = next(a for a, f in aliases.items() if f == field_name)
            raise ctx.child(key).fail(key_node, f"'{old}' is the old name of '{field_name}'; give only "
                                                f"'{field_name}'.")
        values[field_name] = _build(hints[field_name], value_node, ctx.child(key))
        lines[field_name] = value_node
        written[field_name] = key
    missing = [f.name for f in fields.values() if f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING and f.name not in values]
    if missing:
        raise ctx.fail(node, f"missing required key '{missing[0]}'.")
    try:
        obj = tp(**values)
    except (TypeError, ValueError) as exc:
        raise ctx.fail(node, str(exc)) from None
    _validate(obj, _Section(ctx, node, lines, written))
    return obj


@dataclass(slots=True)
class _Section:
    """A built section and where its keys were written, to report a check at the offending line."""

    ctx: _Ctx
    node: yaml.MappingNode
    lines: dict[str, yaml.Node]  # field -> its value node
    written: dict[str, str]  # field -> the key as written (an old name maps to the field)

    def at(self, key: str) -> _Ctx:
        return self.ctx.child(self.written.get(key, key))

    def bad(self, key: str, message: str) -> TargetError:
        return self.at(key).fail(self.lines.get(key, self.node), message)

    def bad_item(self, key: str, i: int, message: str) -> TargetError:
        return self.at(key).child(i).fail(self.lines[key].value[i], message)


def _validate(obj: Any, where: _Section) -> None:
    """Checks beyond types (ranges, names, paths, headers), reported at the offending key's line."""
    section = _SECTIONS.get(type(obj).__name__)
    for key in where.lines if section is not None else ():
        limits = RANGES.get(f"{section}.{key}" if section else key)
        value = getattr(obj, key)
        if limits is None or value is None:
            continue
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if not _in_range(item, limits):
                node = where.lines[key].value[i] if isinstance(value, list) else where.lines[key]
                scope = where.at(key).child(i) if isinstance(value, list) else where.at(key)
                raise scope.fail(node, f"{_show(node.value, 40, quote=False)} is out of range; give "
                                       f"{_num(limits[0])} to {_num(limits[1])}{_UNITS.get(key, '')}.")
    for key in ("path", "prefix", "unknown_path"):
        value = getattr(obj, key, None)
        problem = _path_problem(value) if isinstance(value, str) else None
        if problem:
            raise where.bad(key, problem)
    for key in ("pages", "assets", "deep_links", "paths", "never_cached", "exposure_paths"):
        for i, value in enumerate(getattr(obj, key, None) or []):
            problem = _path_problem(value)
            if problem:
                raise where.bad_item(key, i, problem)
    check = _CHECKS.get(type(obj).__name__)
    if check is not None:
        check(obj, where)


def _check_target(obj: Target, where: _Section) -> None:
    try:
        obj.domain = normalize_host(obj.domain)
    except ValueError as exc:
        raise where.bad("domain", f"{exc}.") from None
    seen: dict[str, int] = {}
    for i, spec in enumerate(obj.connect_to):
        try:
            obj.connect_to[i] = check_connect_to(spec, obj.domain)
        except ValueError as exc:
            raise where.bad_item("connect_to", i, str(exc) + ".") from None
        mapped = ":".join(obj.connect_to[i].split(":", 2)[:2])
        if mapped in seen:
            raise where.bad_item("connect_to", i, f"a second entry for {mapped} (the first is item {seen[mapped]}); "
                                                  f"only one address can be used, so keep one.")
        seen[mapped] = i
    _check_headers(obj.headers, where.lines.get("headers"), where.at("headers"))
    if obj.ca_bundle and not Path(obj.ca_bundle).is_file():  # the run and check-target say it alike
        found = "a folder, not a file" if Path(obj.ca_bundle).is_dir() else "no such file"
        raise where.bad("ca_bundle", f"{obj.ca_bundle}: {found}; give a PEM file of the CA certificates that must "
                                     "verify the edge's certificate.")
    if obj.template is not None:  # relative to the target file, like the file the target itself is
        path = Path(obj.template) if Path(obj.template).is_absolute() else Path(where.ctx.file).parent / obj.template
        if not path.is_file():
            found = "a folder, not a file" if path.is_dir() else "no such file"
            raise where.bad("template", f"{obj.template}: {found} (looked for {path}); give the CloudFormation, SAM "
                                        "or cdk synth template (YAML or JSON) that deploys the distribution.")
        if path.suffix.lower() not in (".yaml", ".yml", ".json", ".template"):
            raise where.bad("template", f"{obj.template}: not a .yaml, .yml, .json or .template file; give the "
                                        "CloudFormation, SAM or cdk synth template that deploys the distribution.")
        obj.template = str(path)
    if obj.timeouts.run is not None and obj.timeouts.run < obj.propagation.timeout:
        raise where.ctx.child("timeouts").child("run").fail(
            _find(where.lines.get("timeouts"), "run") or where.node,
            f"the run deadline {_num(obj.timeouts.run)} s is shorter than propagation.timeout "
            f"{_num(obj.propagation.timeout)} s; the run would end before the release can arrive.")


def _check_timeouts(obj: Timeouts, where: _Section) -> None:
    if obj.total < obj.connect:
        raise where.bad("total", f"{_num(obj.total)} s is shorter than timeouts.connect ({_num(obj.connect)} s).")


def _check_propagation(obj: Propagation, where: _Section) -> None:
    if obj.interval > obj.max_interval:
        raise where.bad("interval" if "interval" in where.lines else "max_interval",
                        f"interval {_num(obj.interval)} s is above max_interval {_num(obj.max_interval)} s.")
    if obj.previous_entry is not None and not obj.previous_entry.strip():
        obj.previous_entry = None  # ${VAR:-} left empty: no previous release to check
    if obj.previous_entry is not None and not Path(obj.previous_entry).is_file():
        raise where.bad("previous_entry", f"{obj.previous_entry}: no such file; give the previous release's index.html "
                                          "as saved before the deploy (curl -o previous-index.html https://DOMAIN/).")
    if obj.release_marker is not None and not obj.release_marker.strip():
        raise where.bad("release_marker", "empty; every page would contain it. Give the build id, or remove the key.")


def _check_static(obj: Static, where: _Section) -> None:
    if obj.compress_min_bytes >= obj.compress_max_bytes:
        raise where.bad("compress_min_bytes" if "compress_min_bytes" in where.lines else "compress_max_bytes",
                        f"compress_min_bytes ({obj.compress_min_bytes}) must be below compress_max_bytes "
                        f"({obj.compress_max_bytes}).")
    if not obj.pages:
        raise where.bad("pages", "needs at least one page (the first is the entry document), e.g. [/].")


def _check_security(obj: Security, where: _Section) -> None:
    from .observatory import GRADES

    for key, value, choices in (("min_grade", obj.min_grade, GRADES),
                                ("source_maps", obj.source_maps, ("advisory", "fail"))):
        if value not in choices:
            close = [c for c in choices if c.lower() == str(value).lower()] or difflib.get_close_matches(
                str(value), choices, n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise where.bad(key, f"'{value}' is not one of {', '.join(choices)}.{hint}")


def _check_https(obj: Https, where: _Section) -> None:
    if not obj.redirect_statuses:
        raise where.bad("redirect_statuses", "empty; give the redirect statuses HTTP must answer, e.g. [301, 308].")


def _check_api(obj: Api, where: _Section) -> None:
    seen: dict[str, int] = {}
    for i, call in enumerate(obj.calls):
        if call.label in seen:  # checks and reports name a call by it: two would be one in every output
            raise where.bad_item("calls", i, f"a second call named '{call.label}' (the first is item {seen[call.label]});"
                                             " give each call its own name.")
        seen[call.label] = i


def _check_api_call(obj: ApiCall, where: _Section) -> None:
    obj.method = _method(obj.method, lambda m: where.bad("method", m))
    _check_headers(obj.headers, where.lines.get("headers"), where.at("headers"))


def _check_expect(obj: Expect, where: _Section) -> None:
    if not _MEDIA_TYPE.fullmatch(obj.content_type):
        raise where.bad("content_type", f"{_show(obj.content_type)} is not a media type like application/json.")


def _check_cors(obj: Cors, where: _Section) -> None:
    for i, origin in enumerate(obj.allowed_origins):
        problem = _origin_problem(origin)
        if problem:
            raise where.bad_item("allowed_origins", i, problem)
    for i, method in enumerate(obj.methods):
        obj.methods[i] = _method(method, lambda m: where.bad_item("methods", i, m))
    for i, header in enumerate(obj.request_headers):
        if not _TOKEN.fullmatch(header):
            raise where.bad_item("request_headers", i, f"{_show(header)} is not a header name (an RFC 9110 token).")


def _check_cache(obj: Cache, where: _Section) -> None:
    try:
        re.compile(obj.fingerprint_pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise where.bad("fingerprint_pattern",
                        f"not a valid regular expression: {_show(str(exc), 120, quote=False)}.") from None


_AWS_FORMATS = {"distribution_id": (r"[A-Z0-9]{1,64}", "a CloudFront distribution id like E1ABCDEF2GHIJK"),
                "stack": (r"[A-Za-z][-A-Za-z0-9]{0,127}|arn:aws[a-z-]*:cloudformation:\S+", "a stack name or ARN"),
                "region": (r"[a-z]{2}(-[a-z]+)+-\d{1,2}", "an AWS region like us-east-1"),
                "endpoint_url": (r"https?://[^\s/?#]+(/\S*)?", "an http(s):// URL"),
                "bucket": (r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "an S3 bucket name")}


def _check_aws(obj: Aws, where: _Section) -> None:
    for key, (pattern, what) in _AWS_FORMATS.items():
        value = getattr(obj, key)
        if value is not None and not re.fullmatch(pattern, value):
            raise where.bad(key, f"{_show(value)} is not {what}.")


def _check_origins(obj: Origins, where: _Section) -> None:
    for key, url in obj.named():
        shape, scheme = _ORIGIN_SHAPES[key]
        m = re.fullmatch(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>[^/?#@:\s]+)(?P<path>/[^?#\s]*)?", url)
        if not m:
            raise where.bad(key, f"{_show(url)} is not a URL like {shape} (no port, query or fragment).")
        try:
            host = normalize_host(m.group("host"))
        except ValueError as exc:
            raise where.bad(key, f"{_show(url)}: the host {exc}.") from None
        kind = origin_kind(host)
        if kind != key:
            names = {"bucket": "an S3 REST", "website": "an S3 website", "api": "an execute-api"}
            other = f" {host} is {names[kind]} endpoint: did you mean origins.{kind}?" if kind else ""
            raise where.bad(key, f"{_show(url)} is not {names[key]} endpoint URL like {shape}.{other}")
        given = m.group("scheme").lower()
        if key == "website" and given != "http":
            raise where.bad(key, f"{_show(url)}: S3 website endpoints answer plain HTTP only; write http://{host}.")
        if key == "api" and given != "https":
            raise where.bad(key, f"{_show(url)}: execute-api answers HTTPS only; write https://{host}"
                                 f"{m.group('path') or ''}.")
        if given not in ("http", "https"):
            raise where.bad(key, f"{_show(url)}: the scheme must be https (or http), like {shape}.")
        setattr(obj, key, f"{given}://{host}{(m.group('path') or '').rstrip('/')}")


def _check_ipv6(obj: Ipv6, where: _Section) -> None:
    for i, address in enumerate(obj.addresses):
        try:
            ipaddress.IPv6Address(address.strip("[]"))
        except ValueError:
            raise where.bad_item("addresses", i, f"{_show(address)} is not an IPv6 address (e.g. 2600:9000:2000::1, "
                                                 "or ::1 for the lab).") from None
        obj.addresses[i] = address.strip("[]")


def _check_browser(obj: Browser, where: _Section) -> None:
    if obj.ready is not None and (not obj.ready.strip() or "\n" in obj.ready):
        raise where.bad("ready", "give one CSS selector the app renders once it has started, e.g. \"#root > *\" "
                                 "(or remove the key: the browser checks then do not wait for the app).")


_CHECKS: dict[str, typing.Callable[[Any, _Section], None]] = {
    "Target": _check_target, "Timeouts": _check_timeouts, "Propagation": _check_propagation, "Static": _check_static,
    "Https": _check_https, "Api": _check_api, "ApiCall": _check_api_call, "Expect": _check_expect, "Cors": _check_cors,
    "Cache": _check_cache, "Aws": _check_aws, "Security": _check_security, "Browser": _check_browser,
    "Ipv6": _check_ipv6, "Origins": _check_origins,
    "Edges": lambda obj, where: _validate_edges(obj, where.bad, where.bad_item)}


_UNITS = {"connect": " seconds", "read": " seconds", "total": " seconds", "run": " seconds", "timeout": " seconds",
          "interval": " seconds", "max_interval": " seconds", "max_body_bytes": " bytes", "compress_min_bytes": " bytes",
          "compress_max_bytes": " bytes", "immutable_min_max_age": " seconds", "html_max_max_age": " seconds",
          "hsts_min_max_age": " seconds", "cert_min_days": " days", "ready_within": " seconds",
          "ttfb_p95_ms": " ms", "total_p95_ms": " ms", "samples": " requests"}


def _in_range(value: float, limits: tuple[float, float]) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return limits[0] <= value <= limits[1]


def _method(value: str, fail: typing.Callable[[str], TargetError]) -> str:
    method = value.upper()
    if method in HTTP_METHODS:
        return method
    close = difflib.get_close_matches(method, HTTP_METHODS, n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else f" Give one of {', '.join(HTTP_METHODS)}."
    raise fail(f"{_show(value)} is not an HTTP method.{hint}")


def _check_headers(headers: dict[str, str], mapping: yaml.Node | None, ctx: _Ctx) -> None:
    """Header names are RFC 9110 tokens, not reserved, not repeated in another case."""
    seen: dict[str, str] = {}
    for name in headers:
        where = _find(mapping, name) or mapping
        sub = ctx.child(name)
        if not _TOKEN.fullmatch(name):
            raise sub.fail(where, f"{_show(name)} is not a header name (an RFC 9110 token: letters, digits and "
                                  f"!#$%&'*+-.^_`|~).")
        if name.lower() in RESERVED_HEADERS:
            raise sub.fail(where, f"{name} cannot be set: edgeverify sends Host (the domain), Content-Length, "
                                  f"Transfer-Encoding and Connection itself; overriding them would send another "
                                  f"request than the one reported.")
        if name.lower() in seen:
            raise sub.fail(where, f"header {name} is also given as {seen[name.lower()]}; header names ignore case, "
                                  f"so keep one.")
        seen[name.lower()] = name


def _find(mapping: yaml.Node | None, key: str) -> yaml.Node | None:
    """The key node of `key` in a mapping node, if there."""
    if isinstance(mapping, yaml.MappingNode):
        return next((k for k, _ in mapping.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
    return None


def _path_problem(value: str) -> str | None:
    if not value.startswith("/"):
        return f"{_show(value)} must start with '/'."
    if re.search(r"\s", value):
        return f"{_show(value)} contains white space; percent-encode it (%20)."
    if "#" in value:
        return f"{_show(value)} contains '#'; a fragment is never sent to the server, so remove it."
    return None


def _origin_problem(origin: str) -> str | None:
    m = _ORIGIN.fullmatch(origin)
    if not m:
        return f"{_show(origin)} is not an origin (scheme://host[:port], no path)."
    host, port = m.group(2), m.group(3)
    if port is not None and not 1 <= int(port) <= 65535:
        return f"{_show(origin)}: port {port} is not 1 to 65535."
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    if host.startswith("["):
        return f"{_show(origin)}: {_show(host)} is not an IPv6 address."
    try:
        normalize_host(host, single_label=True)
    except ValueError as exc:
        return f"{_show(origin)}: the host {exc}."
    return None


def _scalar(node: yaml.ScalarNode, ctx: _Ctx) -> Any:
    """A scalar as Python: text (${VAR} interpolated), whole number, finite number, true/false or None."""
    tag = node.tag
    if tag == _YAML + "str":
        return _interpolate(node, ctx)
    if tag == _YAML + "timestamp":  # JSON has no dates: keep what was written
        return str(node.value)
    kinds = {"int": "a whole number", "float": "a number", "bool": "true or false", "null": "nothing"}
    kind = tag[len(_YAML):] if tag.startswith(_YAML) else ""
    if kind not in kinds:
        raise ctx.fail(node, f"expected a single value, not one tagged {_show(tag, 60, quote=False)}.")
    try:
        value = getattr(_CONSTRUCT, f"construct_yaml_{kind}")(node)
    except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError):
        raise ctx.fail(node, f"{_show(node.value)} is not {kinds[kind]}.") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ctx.fail(node, f"{_show(node.value)} is not a finite number (nan and infinity are refused).")
    return value


def _plain(node: yaml.Node, ctx: _Ctx) -> Any:
    """A node as plain Python data (JSON-like), with ${VAR} interpolated in every string."""
    _check_tag(node, ctx)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, ctx)
    if isinstance(node, yaml.SequenceNode):
        return [_plain(n, ctx.child(i)) for i, n in enumerate(node.value)]
    return {k: _plain(v, ctx.child(k)) for k, _, v in _pairs(node, ctx)}


def _interpolate(node: yaml.ScalarNode, ctx: _Ctx) -> str:
    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        value = os.environ.get(name)
        if value is None:
            if default is not None:
                return default
            raise ctx.fail(node, f"environment variable {name} is not set (export it, or write ${{{name}:-default}}).")
        if ctx.key.split(".")[0].split("[")[0] not in _NO_SECRETS:
            register_secret(value, name)
        return value

    broken = _BROKEN_VAR.search(node.value)
    if broken is not None:  # "${}", "${1X}", "${OPEN": meant as a variable, would be sent as written
        raise ctx.fail(node, f"'{node.value[broken.start():broken.start() + 12]}' is not a variable reference; write "
                             "${NAME} (letters, digits and _, not starting with a digit) or ${NAME:-default}.")
    return _VAR.sub(sub, node.value)


_BROKEN_VAR = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})")


def _show(value: Any, limit: int = 60, quote: bool = True) -> str:
    """A value safe to quote in a one-line message: control characters escaped, long text cut."""
    text = redact(value) if isinstance(value, str) else (repr(value) if not isinstance(value, int) else _int_text(value))
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    if len(text) > limit:
        shown += f"… ({len(text):,} characters)"
    return f"'{shown}'" if quote else shown


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:
        return "a number with thousands of digits"


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else f"{value:g}" if isinstance(value, float) else str(value)


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {_YAML + "int": "a number", _YAML + "float": "a number",
            _YAML + "bool": "true/false", _YAML + "null": "nothing"}.get(node.tag, "text")


def _type_name(tp: Any) -> str:
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _validate_edges(obj: Edges, bad: Any, item: Any) -> None:
    """The edges section: mode, known regions, addresses, prefixes, name servers and bounds."""
    import ipaddress

    from .regions import REGION_PREFIXES

    modes = ("nearest", "dns", "regions", "addresses")
    if obj.mode not in modes:
        close = difflib.get_close_matches(obj.mode, modes, n=1, cutoff=0.5)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise bad("mode", f"'{obj.mode}' is not a mode; write one of {', '.join(modes)}.{hint}")

    for region, prefix in obj.prefixes.items():
        try:
            ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            raise bad("prefixes", f"'{prefix}' (region '{region}') is not a network prefix such as 192.0.2.0/24.") from None
    known = list(REGION_PREFIXES) + list(obj.prefixes)
    for i, region in enumerate(obj.regions):
        if region not in known:
            close = difflib.get_close_matches(region, known, n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else " Add its client prefix under edges.prefixes."
            raise item("regions", i, f"unknown region '{region}'.{hint}")
    for i, address in enumerate(obj.addresses):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise item("addresses", i, f"'{address}' is not an IP address.") from None
    if obj.mode == "addresses" and not obj.addresses:
        raise bad("addresses", "mode 'addresses' needs at least one address under edges.addresses.")
    for i, server in enumerate(obj.nameservers):
        host, _, port = server.rpartition(":") if server.count(":") == 1 or server.startswith("[") else ("", "", "")
        host = host.strip("[]") or server
        try:
            ipaddress.ip_address(host)
            if port and not 0 < int(port) < 65536:
                raise ValueError
        except ValueError:
            raise item("nameservers", i, f"'{server}' is not ADDRESS or ADDRESS:PORT (e.g. 205.251.192.1 or 127.0.0.1:5353).") from None
    if not 1 <= obj.max_edges <= 100:
        raise bad("max_edges", f"{obj.max_edges} is out of range: 1 to 100 edges.")
    if not 1 <= obj.concurrency <= 64:
        raise bad("concurrency", f"{obj.concurrency} is out of range: 1 to 64 edges at once.")
    if not 0 < obj.dns_timeout <= 30:
        raise bad("dns_timeout", f"{obj.dns_timeout:g} is out of range: more than 0 and at most 30 seconds.")
