"""The target model: one deployed domain, loaded from YAML and validated before anything runs.

The dataclasses below are the schema. The loader walks PyYAML's node tree (which keeps line
numbers) against them, so every error names the file, the line and the key path.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from .errors import TargetError
from .redact import register_secret


@dataclass(slots=True)
class Timeouts:
    connect: float = 5.0  # seconds to open the TCP+TLS connection
    read: float = 10.0  # seconds of silence tolerated between bytes
    total: float = 30.0  # seconds for the whole exchange, however the server drips


@dataclass(slots=True)
class Propagation:
    timeout: float = 0.0  # seconds a failing check is retried after the run starts (0: check once)
    interval: float = 2.0  # first wait between attempts
    max_interval: float = 15.0  # backoff cap; above CloudFront's 10 s error caching
    release_marker: str | None = None  # text the entry document must contain (a build id)


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


@dataclass(slots=True)
class Https:
    hsts_min_max_age: int = 31_536_000
    cert_min_days: int = 14
    redirect_statuses: list[int] = field(default_factory=lambda: [301, 308])


@dataclass(slots=True)
class Spa:
    fallback: bool = True  # the app routes deep links client-side
    deep_links: list[str] = field(default_factory=list)
    random_deep_link: bool = True


@dataclass(slots=True)
class Aws:
    distribution_id: str | None = None
    stack: str | None = None
    region: str | None = None
    endpoint_url: str | None = None  # moto or another endpoint; also AWS_ENDPOINT_URL
    bucket: str | None = None
    bucket_prefix: str = ""
    parity_sample: int = 200
    wait: bool = True  # wait for Deployed and invalidations before the suites


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
class Target:
    domain: str
    connect_to: list[str] = field(default_factory=list)
    ca_bundle: str | None = None
    insecure: bool = False  # TLS verification off; loudly reported
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_body_bytes: int = 10_000_000
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request
    static: Static = field(default_factory=Static)
    api: Api = field(default_factory=Api)
    cache: Cache = field(default_factory=Cache)
    cors: Cors | None = None
    https: Https = field(default_factory=Https)
    spa: Spa = field(default_factory=Spa)
    propagation: Propagation = field(default_factory=Propagation)
    aws: Aws = field(default_factory=Aws)
    edges: Edges = field(default_factory=Edges)
    source: str = ""  # the file it came from; not a YAML key

    def url(self, path: str, scheme: str = "https") -> str:
        return f"{scheme}://{self.domain}{path if path.startswith('/') else '/' + path}"


_NOT_KEYS = {"source"}
_NO_SECRETS = {"domain", "connect_to", "ca_bundle"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_CONNECT_TO = re.compile(r"^([^:\s]*):(\d*):(\[[0-9a-fA-F:]+\]|[^:\s]*):(\d*)$")


def load_target(path: str | os.PathLike[str]) -> Target:
    """Read, interpolate and validate a target file, or raise TargetError saying where it is wrong."""
    name = str(path)
    p = Path(path)
    if not p.is_file():
        raise TargetError(f"Target file {name}: not found (give a YAML file with --target, e.g. targets/example.yaml).")
    raw = p.read_bytes()
    if b"\0" in raw[:8192]:
        raise TargetError(f"Target file {name}: looks binary, not YAML text.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TargetError(f"Target file {name}: not UTF-8 text (byte {exc.start}).") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise TargetError(f"Target file {name}{where}: YAML syntax error: {problem}.") from None
    if node is None:
        raise TargetError(f"Target file {name}: empty; it needs at least 'domain: www.example.com'.")
    target = _build(Target, node, _Ctx(name, ""))
    target.source = name
    return target


def parse_connect_to(spec: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """curl --connect-to HOST:PORT:ADDR:PORT -> ((host, port), (addr, port)); empty parts not allowed."""
    m = _CONNECT_TO.match(spec.strip())
    if not m or not all(m.groups()):
        raise ValueError(f"'{spec}' is not HOST:PORT:ADDR:PORT (e.g. www.example.com:443:127.0.0.1:8443)")
    host, port, addr, addr_port = m.groups()
    return (host.lower(), int(port)), (addr.strip("[]"), int(addr_port))


@dataclass(slots=True)
class _Ctx:
    file: str
    key: str

    def child(self, key: str | int) -> _Ctx:
        sub = f"{self.key}[{key}]" if isinstance(key, int) else (f"{self.key}.{key}" if self.key else key)
        return _Ctx(self.file, sub)

    def fail(self, node: yaml.Node, message: str) -> TargetError:
        key = f", key '{self.key}'" if self.key else ""
        return TargetError(f"Target file {self.file}, line {node.start_mark.line + 1}{key}: {message}")


def _build(tp: Any, node: yaml.Node, ctx: _Ctx) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
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
        return {str(_plain(k, ctx)): _build(str, v, ctx.child(str(k.value))) for k, v in node.value}
    if tp is Any:
        return _plain(node, ctx)
    if not isinstance(node, yaml.ScalarNode):
        raise ctx.fail(node, f"expected {_type_name(tp)}, got {_describe(node)}.")
    value = _plain(node, ctx)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ctx.fail(node, f"expected {_type_name(tp)}, got {_describe(node)} '{node.value}'.")
    return value


def _build_dataclass(tp: Any, node: yaml.Node, ctx: _Ctx) -> Any:
    if not isinstance(node, yaml.MappingNode):
        raise ctx.fail(node, f"expected a mapping (section '{ctx.key or 'top level'}'), got {_describe(node)}.")
    hints = typing.get_type_hints(tp)
    fields = {f.name: f for f in dataclasses.fields(tp) if f.name not in _NOT_KEYS}
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else f" Known keys: {', '.join(fields)}."
            raise ctx.child(key).fail(key_node, f"unknown key '{key}'.{hint}")
        values[key] = _build(hints[key], value_node, ctx.child(key))
    missing = [f.name for f in fields.values() if f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING and f.name not in values]
    if missing:
        raise ctx.fail(node, f"missing required key '{missing[0]}'.")
    try:
        obj = tp(**values)
    except (TypeError, ValueError) as exc:
        raise ctx.fail(node, str(exc)) from None
    _validate(obj, node, ctx)
    return obj


def _validate(obj: Any, node: yaml.MappingNode, ctx: _Ctx) -> None:
    """Checks beyond types, reported at the offending key's line."""
    lines = {str(k.value): v for k, v in node.value}

    def bad(key: str, message: str) -> TargetError:
        return ctx.child(key).fail(lines.get(key, node), message)

    if isinstance(obj, Target):
        if not re.fullmatch(r"[A-Za-z0-9.-]+", obj.domain) or "." not in obj.domain:
            raise bad("domain", f"'{obj.domain}' is not a host name (write www.example.com, no scheme or path).")
        for i, spec in enumerate(obj.connect_to):
            try:
                parse_connect_to(spec)
            except ValueError as exc:
                raise ctx.child("connect_to").child(i).fail(lines["connect_to"].value[i], str(exc) + ".") from None
    if isinstance(obj, ApiCall):
        if obj.method.upper() not in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}:
            raise bad("method", f"'{obj.method}' is not an HTTP method.")
        obj.method = obj.method.upper()
    for key in ("path", "prefix", "unknown_path"):
        value = getattr(obj, key, None)
        if isinstance(value, str) and not value.startswith("/"):
            raise bad(key, f"'{value}' must start with '/'.")
    for key in ("pages", "assets", "deep_links", "paths", "never_cached"):
        for i, value in enumerate(getattr(obj, key, None) or []):
            if not value.startswith("/"):
                raise ctx.child(key).child(i).fail(lines[key].value[i], f"'{value}' must start with '/'.")
    if isinstance(obj, Cors):
        for i, origin in enumerate(obj.allowed_origins):
            if not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ctx.child("allowed_origins").child(i).fail(
                    lines["allowed_origins"].value[i], f"'{origin}' is not an origin (scheme://host[:port], no path).")
    if isinstance(obj, Edges):
        _validate_edges(obj, bad, lambda key, i, message: ctx.child(key).child(i).fail(lines[key].value[i], message))
    if isinstance(obj, (Cache,)):
        try:
            re.compile(obj.fingerprint_pattern)
        except re.error as exc:
            raise bad("fingerprint_pattern", f"not a valid regular expression: {exc}.") from None


def _plain(node: yaml.Node, ctx: _Ctx) -> Any:
    """A node as plain Python data, with ${VAR} interpolated in every string."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:str":
            return _interpolate(node, ctx)
        return yaml.SafeLoader("").construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return [_plain(n, ctx.child(i)) for i, n in enumerate(node.value)]
    return {str(k.value): _plain(v, ctx.child(str(k.value))) for k, v in node.value}


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

    return _VAR.sub(sub, node.value)


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {"tag:yaml.org,2002:int": "a number", "tag:yaml.org,2002:float": "a number",
            "tag:yaml.org,2002:bool": "true/false", "tag:yaml.org,2002:null": "nothing"}.get(node.tag, "text")


def _type_name(tp: Any) -> str:
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _validate_edges(obj: Edges, bad: Any, item: Any) -> None:
    """The edges section: mode, known regions, addresses, prefixes, name servers and bounds."""
    import ipaddress

    from .edges.regions import REGION_PREFIXES

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
