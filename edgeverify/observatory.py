"""The MDN HTTP Observatory's score and grade, computed from recorded answers the way its scanner computes them.

A port of @mdn/mdn-http-observatory 1.4.8 (the version on npm; github.com/mdn/mdn-http-observatory at tag
v1.4.8): `src/scanner/index.js` (start at 100, add every modifier; the bonuses count only when the score
without them is at least 90), `src/grader/charts.js` (the modifiers and the grade chart) and the ten tests of
`src/analyzer/tests/*.js`, each judging what the scanner fetched: the page at `/` over https after its
redirects ("auto"), the http:// redirect chain, the cookies of its session (`/` and `/robots.txt`) and one
`OPTIONS` with an Origin. Pure: the suite fetches, this module only judges.

Known differences, on purpose: the HSTS preload list is empty (the scanner's tests run with an empty
conf/hsts-preload.json too, so nothing is "preloaded"), and a script's registrable domain is its last two
labels (the scanner asks tldts, which knows the public suffix list).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

SOURCE = "MDN HTTP Observatory 1.4.8 (github.com/mdn/mdn-http-observatory, tag v1.4.8: src/scanner, src/grader, " \
         "src/analyzer)"
GRADES = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F")
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
_CHART = {100: "A+", 95: "A", 90: "A", 85: "A-", 80: "B+", 75: "B", 70: "B", 65: "B-", 60: "C+", 55: "C", 50: "C",
          45: "C-", 40: "D+", 35: "D", 30: "D", 25: "D-"}

# src/grader/charts.js SCORE_TABLE: expectation -> modifier
MODIFIERS: dict[str, int] = {
    "csp-implemented-with-no-unsafe-default-src-none": 10, "csp-implemented-with-no-unsafe": 5,
    "csp-implemented-with-unsafe-inline-in-style-src-only": 0,
    "csp-implemented-with-insecure-scheme-in-passive-content-only": -10, "csp-implemented-with-unsafe-eval": -10,
    "csp-implemented-with-unsafe-inline": -20, "csp-implemented-with-insecure-scheme": -20,
    "csp-header-invalid": -25, "csp-not-implemented": -25, "csp-not-implemented-but-reporting-enabled": -25,
    "csp-implemented-but-duplicate-directives": 0,
    "cookies-secure-with-httponly-sessions-and-samesite": 5, "cookies-secure-with-httponly-sessions": 0,
    "cookies-not-found": 0, "cookies-without-secure-flag-but-protected-by-hsts": -5,
    "cookies-session-without-secure-flag-but-protected-by-hsts": -10, "cookies-without-secure-flag": -20,
    "cookies-samesite-flag-invalid": -20, "cookies-anticsrf-without-samesite-flag": -20,
    "cookies-session-without-httponly-flag": -30, "cookies-session-without-secure-flag": -40,
    "cross-origin-resource-sharing-not-implemented": 0,
    "cross-origin-resource-sharing-implemented-with-public-access": 0,
    "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
    "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    "redirection-all-redirects-preloaded": 0, "redirection-to-https": 0, "redirection-not-needed-no-http": 0,
    "redirection-off-host-from-http": -5, "redirection-not-to-https-on-initial-redirection": -10,
    "redirection-not-to-https": -20, "redirection-missing": -20, "redirection-invalid-cert": -20,
    "referrer-policy-private": 5, "referrer-policy-not-implemented": 0, "referrer-policy-unsafe": -5,
    "referrer-policy-header-invalid": -5,
    "hsts-preloaded": 5, "hsts-implemented-max-age-at-least-six-months": 0,
    "hsts-implemented-max-age-less-than-six-months": -10, "hsts-not-implemented": -20, "hsts-header-invalid": -20,
    "hsts-not-implemented-no-https": -20, "hsts-invalid-cert": -20,
    "sri-implemented-and-all-scripts-loaded-securely": 5, "sri-implemented-and-external-scripts-loaded-securely": 5,
    "sri-not-implemented-response-not-html": 0, "sri-not-implemented-but-no-scripts-loaded": 0,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
    "sri-not-implemented-but-external-scripts-loaded-securely": -5,
    "sri-implemented-but-external-scripts-not-loaded-securely": -20,
    "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    "x-content-type-options-nosniff": 0, "x-content-type-options-not-implemented": -5,
    "x-content-type-options-header-invalid": -5,
    "x-frame-options-implemented-via-csp": 5, "x-frame-options-sameorigin-or-deny": 0,
    "x-frame-options-allow-from-origin": 0, "x-frame-options-not-implemented": -20,
    "x-frame-options-header-invalid": -20,
    "corp-header-invalid": -5, "corp-implemented-with-cross-origin": 0, "corp-implemented-with-same-origin": 10,
    "corp-implemented-with-same-site": 10, "corp-not-implemented": 0,
    "html-not-parseable": -20,
}
SIX_MONTHS = 15_768_000


def grade_for(score: int) -> str:
    """src/grader/grader.js getGradeForScore: the score rounded down to a multiple of 5, capped at 100."""
    key = min(max(score, 0) - max(score, 0) % 5, 100)
    return _CHART.get(key, "F")


def grade_rank(grade: str) -> int:
    """0 for A+, larger for worse grades (for "at least this grade")."""
    return GRADES.index(grade)


@dataclass(frozen=True, slots=True)
class Answer:
    """One recorded answer as the scanner sees it: its URL, status and headers (names lower-case)."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    def all(self, name: str) -> list[str]:
        """Every value of a header; repeated headers joined with ', ' as Node's http does (Set-Cookie apart)."""
        values = [v for k, v in self.headers if k.lower() == name]
        if name == "set-cookie" or not values:
            return values
        return [", ".join(values)]

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class Scan:
    """What the scanner fetched: the https page after redirects (None if https failed), the http redirect chain
    (each hop's URL and status; the first is http://host/), whether https verified, the session's Set-Cookie
    values, and the OPTIONS answer to the CORS probe (with the Origin it sent)."""

    host: str
    page: Answer | None
    http_route: tuple[Answer, ...] = ()
    verified: bool = True
    cookies: tuple[str, ...] = ()
    cors: Answer | None = None
    cors_origin: str = "https://http-observatory.security.mozilla.org"


@dataclass(frozen=True, slots=True)
class TestResult:
    name: str
    result: str
    passed: bool

    @property
    def modifier(self) -> int:
        return MODIFIERS[self.result]


@dataclass(frozen=True, slots=True)
class Grade:
    score: int
    grade: str
    tests: tuple[TestResult, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "grade": self.grade, "source": SOURCE,
                "tests": [{"name": t.name, "result": t.result, "modifier": t.modifier, "pass": t.passed}
                          for t in self.tests]}


def score(scan: Scan) -> Grade:
    """src/scanner/index.js: every test's modifier; bonuses only if the score without them is at least 90."""
    tests = (_csp(scan), _cookies(scan), _cors(scan), _redirection(scan), _referrer(scan), _hsts(scan),
             _sri(scan), _xcto(scan), _xfo(scan), _corp(scan))
    with_extra = 100 + sum(t.modifier for t in tests)
    uncurved = 100 + sum(t.modifier for t in tests if t.modifier < 0)
    total = with_extra if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved
    total = max(total, 0)
    return Grade(total, grade_for(total), tests)


# -- the page's markup --------------------------------------------------------------------------------------

class _Markup(HTMLParser):
    """<meta http-equiv=content-security-policy>, <meta name=referrer>, and <script>/<link> tags with their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta_csp: list[str] = []
        self.meta_referrer: list[str] = []
        self.scripts: list[dict[str, str]] = []
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta":
            if "http-equiv" in a and "content" in a:
                if a["http-equiv"].strip().lower() == "content-security-policy" and a["content"]:
                    self.meta_csp.append(a["content"])
            elif a.get("name", "").strip().lower() == "referrer" and a.get("content"):
                self.meta_referrer = [a["content"]]
        elif tag == "script":
            self.scripts.append(a)
        elif tag == "link":
            self.links.append(a)

    handle_startendtag = handle_starttag


def markup(html: str) -> _Markup:
    parser = _Markup()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser raises on very broken input; the scanner logs and goes on
        pass
    return parser


def _is_html(answer: Answer | None) -> bool:
    return answer is not None and (answer.first("content-type") or "").split(";")[0].strip() in (
        "text/html", "application/xhtml+xml")


def _meta(scan: Scan) -> _Markup:
    return markup(scan.page.body) if scan.page is not None and _is_html(scan.page) and scan.page.body else _Markup()


# -- CSP: src/analyzer/cspParser.js and tests/csp.js --------------------------------------------------------

class CspInvalid(ValueError):
    pass


_DUPLICATES = "_observatory_duplicate_key_warnings"
_ALLOWED_DUPLICATES = {"report-uri", "report-to"}
_NOT_IN_META = ("frame-ancestors", "report-uri", "sandbox")
DANGEROUSLY_BROAD = {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
UNSAFE_INLINE = {"'unsafe-inline'", "data:"}
_PASSIVE = ("img-src", "media-src")
_NONCES_HASHES = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")


@dataclass
class _Source:
    source: str
    index: int
    keep: bool


def parse_csp(policies: Sequence[str]) -> dict[str, set[str]]:
    """cspParser.js parseCsp: the combined policy; CspInvalid for a too-short policy or a repeated directive."""
    clean = [re.sub(r"[\r\n]", "", p).strip() for p in policies]
    if not clean:
        return {}
    for p in clean:
        if not p or len(p) < len("img-src") - 1:
            raise CspInvalid(f"Invalid policy: {p}")
    csp: dict[str, list[_Source]] = {}
    warnings: set[str] = set()
    for index, policy in enumerate(clean):
        seen: set[str] = set()
        for entry in policy.split(";"):
            parts = entry.strip().split()
            if not parts:
                continue
            directive, values = parts[0].lower(), parts[1:]
            if directive in seen:
                if directive in _ALLOWED_DUPLICATES:
                    warnings.add(directive)
                else:
                    raise CspInvalid(f"Duplicate directive {directive} in policy {index}")
            else:
                seen.add(directive)
            keep = index == 0
            sources = [_Source(v.strip().lower(), index, keep) for v in values]
            if not values and directive.endswith("-src"):
                sources = [_Source("'none'", index, keep)]
            combined = sources if index == 0 else csp.get(directive, []) + sources
            combined.sort(key=lambda s: s.source)
            for i in range(1, len(combined)):
                source, prev = combined[i], combined[i - 1]
                if source.index == prev.index and source.source.startswith(prev.source):
                    source.keep = False
                if source.index != prev.index and _path_part_match(prev.source, source.source):
                    source.keep = True
            csp[directive] = [s for s in combined if s.keep]
            if index == 0 and len(policies) > 1:
                for s in csp[directive]:
                    s.keep = False
    final = {d: ({s.source for s in sources} or {"'none'"}) for d, sources in csp.items()}
    if warnings:
        final[_DUPLICATES] = warnings
    return final


def _path_part_match(a: str, b: str) -> bool:
    if not a:
        return True
    if a == "/" and not b:
        return True
    exact = not a.endswith("/")
    pa, pb = a.split("/"), b.split("/")
    if len(pa) > len(pb) or exact and len(pa) != len(pb):
        return False
    if not exact:
        pa.pop()
    return all(x == y for x, y in zip(pa, pb))


@dataclass(frozen=True, slots=True)
class CspVerdict:
    result: str
    passed: bool
    policy: dict[str, set[str]] | None  # None: no policy (or an invalid one)


def csp_verdict(headers: Sequence[str], meta: Sequence[str], https: bool = True) -> CspVerdict:
    """tests/csp.js on a page's Content-Security-Policy headers (as Node joins them) and <meta> policies."""
    try:
        csp = parse_csp([*headers, *meta])
    except CspInvalid:
        return CspVerdict("csp-header-invalid", False, None)
    try:
        header_only = parse_csp(headers)
    except CspInvalid:
        header_only = {}
    try:
        meta_only = parse_csp(meta)
        for d in _NOT_IN_META:
            meta_only.pop(d, None)
    except CspInvalid:
        meta_only = {}
    if len(header_only) + len(meta_only) == 0:
        return CspVerdict("csp-not-implemented", False, None)
    result: str | None = None
    script = set(csp.get("script-src") or csp.get("default-src") or {"*"})
    style = set(csp.get("style-src") or csp.get("default-src") or {"*"})
    objects = set(csp.get("object-src") or csp.get("default-src") or {"*"})
    for sources in (script, style):
        if any(s.startswith(_NONCES_HASHES) for s in sources):
            sources.discard("'unsafe-inline'")
    if any(s.startswith(_NONCES_HASHES) for s in script) and "'strict-dynamic'" in script:
        script = {s for s in script if not (any(s.startswith(b) for b in DANGEROUSLY_BROAD)
                                            or s in ("'self'", "'unsafe-inline'"))}
    elif "'strict-dynamic'" in script:
        result = "csp-header-invalid"
    active = [s for d, sources in csp.items() if d not in _PASSIVE and d != "script-src" for s in sources] + list(script)
    passive = [s for d in _PASSIVE for s in (csp.get(d) or csp.get("default-src") or set())]
    if script & (DANGEROUSLY_BROAD | UNSAFE_INLINE) or objects & DANGEROUSLY_BROAD:
        result = result or "csp-implemented-with-unsafe-inline"
    if https and any(s.startswith(("http:", "ftp:")) for s in active):
        result = result or "csp-implemented-with-insecure-scheme"
    if "'unsafe-eval'" in script | style:
        result = result or "csp-implemented-with-unsafe-eval"
    if https and any(s.startswith(("http:", "ftp:")) for s in passive):
        result = result or "csp-implemented-with-insecure-scheme-in-passive-content-only"
    if style & (DANGEROUSLY_BROAD | UNSAFE_INLINE):
        result = result or "csp-implemented-with-unsafe-inline-in-style-src-only"
    if csp.get("default-src") == {"'none'"}:
        result = result or "csp-implemented-with-no-unsafe-default-src-none"
    else:
        result = result or "csp-implemented-with-no-unsafe"
    passed = result in ("csp-implemented-with-no-unsafe", "csp-implemented-with-no-unsafe-default-src-none",
                        "csp-implemented-with-unsafe-inline-in-style-src-only",
                        "csp-implemented-with-insecure-scheme-in-passive-content-only")
    if passed and _DUPLICATES in csp:
        result = "csp-implemented-but-duplicate-directives"
    return CspVerdict(result, passed, {d: s for d, s in csp.items() if d != _DUPLICATES})


def _csp(scan: Scan) -> TestResult:
    if scan.page is None:
        return TestResult("content-security-policy", "csp-not-implemented", False)
    v = csp_verdict(scan.page.all("content-security-policy"), _meta(scan).meta_csp, _final_https(scan))
    if v.result == "csp-not-implemented" and scan.page.first("content-security-policy-report-only"):
        return TestResult("content-security-policy", "csp-not-implemented-but-reporting-enabled", False)
    return TestResult("content-security-policy", v.result, v.passed)


def _final_https(scan: Scan) -> bool:
    return scan.page is None or urlsplit(scan.page.url).scheme == "https"


# -- cookies: tests/cookies.js ------------------------------------------------------------------------------

_COOKIE_ORDER = ("cookies-without-secure-flag-but-protected-by-hsts", "cookies-without-secure-flag",
                 "cookies-session-without-secure-flag-but-protected-by-hsts", "cookies-samesite-flag-invalid",
                 "cookies-anticsrf-without-samesite-flag", "cookies-session-without-httponly-flag",
                 "cookies-session-without-secure-flag")


@dataclass(frozen=True, slots=True)
class Cookie:
    name: str
    secure: bool
    http_only: bool
    same_site: str | None  # as written; None when absent


def parse_cookie(raw: str) -> Cookie | None:
    """A Set-Cookie value's name and attributes (None when it has no name=value, as tough-cookie drops it)."""
    parts = raw.split(";")
    name, eq, _ = parts[0].partition("=")
    if not eq or not name.strip():
        return None
    attrs: dict[str, str] = {}
    for p in parts[1:]:
        key, _, value = p.strip().partition("=")
        attrs[key.strip().lower()] = value.strip()
    same_site = attrs.get("samesite")
    if same_site is not None and same_site.lower() not in ("lax", "strict", "none"):
        same_site = None  # tough-cookie keeps no invalid value
    return Cookie(name.strip(), "secure" in attrs, "httponly" in attrs, same_site)


def samesite_invalid(raw: str) -> bool:
    for p in raw.strip().split(";"):
        key, *rest = p.strip().split("=")
        if key.strip().lower() == "samesite":
            value = rest[0] if rest else ""
            if not value or value.strip().lower() not in ("lax", "strict", "none"):
                return True
    return False


def _worse(new: str, old: str | None) -> str:
    return new if old is None or _COOKIE_ORDER.index(new) > _COOKIE_ORDER.index(old) else old


def _cookies(scan: Scan) -> TestResult:
    hsts = _hsts(scan).passed
    result: str | None = None
    if scan.page is not None:
        for raw in scan.page.all("set-cookie"):
            if samesite_invalid(raw):
                result = _worse("cookies-samesite-flag-invalid", result)
    jar: dict[str, Cookie] = {}
    for raw in scan.cookies:
        cookie = parse_cookie(raw)
        if cookie is not None and cookie.name != "heroku-session-affinity":
            if cookie.secure and not _final_https(scan):
                continue  # a Secure cookie over http is not stored
            jar[cookie.name] = cookie
    if not jar:
        return TestResult("cookies", "cookies-not-found", True)
    missing_same_site = False
    for c in jar.values():
        session = any(word in c.name.lower() for word in ("login", "sess"))
        anticsrf = "csrf" in c.name.lower()
        if not c.secure and (c.same_site or "").lower() == "none":
            result = _worse("cookies-samesite-flag-invalid", result)
        if not c.secure:
            result = _worse("cookies-without-secure-flag-but-protected-by-hsts" if hsts
                            else "cookies-without-secure-flag", result)
        if anticsrf and not c.same_site:
            result = _worse("cookies-anticsrf-without-samesite-flag", result)
        if session and not c.secure:
            result = _worse("cookies-session-without-secure-flag-but-protected-by-hsts" if hsts
                            else "cookies-session-without-secure-flag", result)
        if session and not c.http_only:
            result = _worse("cookies-session-without-httponly-flag", result)
        missing_same_site = missing_same_site or not c.same_site
    if result is None:
        result = ("cookies-secure-with-httponly-sessions" if missing_same_site
                  else "cookies-secure-with-httponly-sessions-and-samesite")
    return TestResult("cookies", result, result in ("cookies-not-found",
                                                    "cookies-secure-with-httponly-sessions-and-samesite",
                                                    "cookies-secure-with-httponly-sessions"))


# -- CORS, redirection, referrer, HSTS: tests/cors.js, redirection.js, referrer-policy.js, strict-transport-security.js

def _cors(scan: Scan) -> TestResult:
    name, result = "cross-origin-resource-sharing", "cross-origin-resource-sharing-not-implemented"
    acao = scan.cors.first("access-control-allow-origin") if scan.cors is not None else None
    if acao:
        credentials = (scan.cors.first("access-control-allow-credentials") or "") if scan.cors else ""
        if acao.strip().lower() == "*":
            result = "cross-origin-resource-sharing-implemented-with-public-access"
        elif acao == scan.cors_origin and credentials.strip().lower() == "true":
            result = "cross-origin-resource-sharing-implemented-with-universal-access"
        else:
            result = "cross-origin-resource-sharing-implemented-with-restricted-access"
    return TestResult(name, result, result != "cross-origin-resource-sharing-implemented-with-universal-access")


def _redirection(scan: Scan) -> TestResult:
    name = "redirection"
    route = scan.http_route
    if not route:
        result = "redirection-not-needed-no-http"
    else:
        urls = [urlsplit(r.url) for r in route]
        if len(route) == 1:
            result = "redirection-missing"
        elif urls[-1].scheme != "https":
            result = "redirection-not-to-https"
        elif urls[1].scheme == "http":
            result = "redirection-not-to-https-on-initial-redirection"
        elif urls[0].scheme == "http" and urls[1].scheme == "https" and urls[0].hostname != urls[1].hostname:
            result = "redirection-off-host-from-http"
        else:
            result = "redirection-to-https"
    return TestResult(name, result, result in ("redirection-not-needed-no-http", "redirection-to-https"))


REFERRER_GOOD = ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin")
REFERRER_BAD = ("origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade")


def referrer_verdict(values: Sequence[str]) -> str:
    """tests/referrer-policy.js: the last valid token of all values decides."""
    if not values:
        return "referrer-policy-not-implemented"
    tokens = [t.strip().lower() for t in ", ".join(values).split(",")]
    valid = [t for t in tokens if t in REFERRER_GOOD + REFERRER_BAD]
    policy = valid[-1] if valid else ""
    if policy in REFERRER_GOOD:
        return "referrer-policy-private"
    if policy in REFERRER_BAD:
        return "referrer-policy-unsafe"
    return "referrer-policy-header-invalid"


def _referrer(scan: Scan) -> TestResult:
    if scan.page is None:
        return TestResult("referrer-policy", "referrer-policy-not-implemented", True)
    result = referrer_verdict(scan.page.all("referrer-policy") + _meta(scan).meta_referrer)
    return TestResult("referrer-policy", result, result in ("referrer-policy-private", "referrer-policy-not-implemented"))


def hsts_max_age(value: str) -> int | None:
    """The max-age of one Strict-Transport-Security value as the scanner reads it; ValueError if it is invalid."""
    if "," in value:
        raise ValueError("Header set multiple times")
    max_age = None
    for parameter in (p.strip().lower() for p in value[:1024].split(";")):
        if parameter.startswith("max-age="):
            digits = re.match(r"\s*[+-]?\d+", parameter[8:128])
            max_age = int(digits.group()) if digits else None
    if max_age is None:
        raise ValueError("MaxAge missing")
    return max_age


def _hsts(scan: Scan) -> TestResult:
    name = "strict-transport-security"
    if scan.page is None:
        return TestResult(name, "hsts-not-implemented-no-https", False)
    if not scan.verified:
        return TestResult(name, "hsts-invalid-cert", False)
    values = scan.page.all("strict-transport-security")
    if not values:
        return TestResult(name, "hsts-not-implemented", False)
    try:
        max_age = hsts_max_age(values[0])
    except ValueError:
        return TestResult(name, "hsts-header-invalid", False)
    if max_age is not None and max_age < SIX_MONTHS:
        return TestResult(name, "hsts-implemented-max-age-less-than-six-months", False)
    return TestResult(name, "hsts-implemented-max-age-at-least-six-months", True)


# -- SRI, X-Content-Type-Options, X-Frame-Options, CORP ---------------------------------------------------------

def registrable(host: str) -> str:
    return ".".join(host.lower().rstrip(".").split(".")[-2:])


_SRI_ORDER = ("sri-implemented-and-all-scripts-loaded-securely", "sri-implemented-and-external-scripts-loaded-securely",
              "sri-implemented-but-external-scripts-not-loaded-securely",
              "sri-not-implemented-but-external-scripts-loaded-securely",
              "sri-not-implemented-and-external-scripts-not-loaded-securely", "sri-not-implemented-response-not-html")


def _sri(scan: Scan) -> TestResult:
    name = "subresource-integrity"
    if scan.page is None:
        return TestResult(name, "sri-not-implemented-but-no-scripts-loaded", True)
    if not _is_html(scan.page):
        return TestResult(name, "sri-not-implemented-response-not-html", True)
    scripts = markup(scan.page.body).scripts
    result: str | None = None
    foreign = False
    page_https = _final_https(scan)
    for script in scripts:
        src = script.get("src", "")
        if not src:
            continue
        integrity = script.get("integrity")
        relative_protocol = bool(re.match(r"^//[^/]", src))
        relative_origin = False
        if relative_protocol:
            same_domain = True
        elif re.match(r"^https?://", src):
            same_domain = registrable(urlsplit(src).hostname or "") == registrable(scan.host)
        else:
            relative_origin, same_domain = True, True
        secure_origin = relative_origin or (same_domain and not relative_protocol)
        scheme = None if relative_protocol or relative_origin else urlsplit(src).scheme
        secure_scheme = scheme == "https" or (relative_origin and page_https)
        if not secure_origin:
            foreign = True
            if integrity and not secure_scheme:
                new = "sri-implemented-but-external-scripts-not-loaded-securely"
            elif not integrity and secure_scheme:
                new = "sri-not-implemented-but-external-scripts-loaded-securely"
            elif not integrity:
                new = "sri-not-implemented-and-external-scripts-not-loaded-securely"
            else:
                continue
            result = new if result is None or _SRI_ORDER.index(new) > _SRI_ORDER.index(result) else result
        elif integrity and secure_scheme and result is None:
            result = "sri-implemented-and-all-scripts-loaded-securely"
    if not scripts:
        result = "sri-not-implemented-but-no-scripts-loaded"
    elif result is None:
        result = ("sri-implemented-and-external-scripts-loaded-securely" if foreign
                  else "sri-not-implemented-but-all-scripts-loaded-from-secure-origin")
    return TestResult(name, result, result in (
        "sri-implemented-and-all-scripts-loaded-securely", "sri-implemented-and-external-scripts-loaded-securely",
        "sri-not-implemented-response-not-html", "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        "sri-not-implemented-but-no-scripts-loaded"))


def _xcto(scan: Scan) -> TestResult:
    name = "x-content-type-options"
    value = scan.page.first("x-content-type-options") if scan.page is not None else None
    if value is None:
        return TestResult(name, "x-content-type-options-not-implemented", False)
    ok = value[:256].strip().lower() == "nosniff"
    return TestResult(name, "x-content-type-options-nosniff" if ok else "x-content-type-options-header-invalid", ok)


def _xfo(scan: Scan) -> TestResult:
    name = "x-frame-options"
    if scan.page is None:
        return TestResult(name, "x-frame-options-not-implemented", False)
    value = scan.page.first("x-frame-options")
    if value:
        xfo = value[:1024].strip().lower()
        result = ("x-frame-options-sameorigin-or-deny" if xfo in ("deny", "sameorigin")
                  else "x-frame-options-allow-from-origin" if xfo.startswith("allow-from")
                  else "x-frame-options-header-invalid")
    else:
        result = "x-frame-options-not-implemented"
    policy = csp_verdict(scan.page.all("content-security-policy"), _meta(scan).meta_csp, _final_https(scan)).policy
    if policy and policy.get("frame-ancestors"):
        result = "x-frame-options-implemented-via-csp"
    return TestResult(name, result, result in ("x-frame-options-sameorigin-or-deny", "x-frame-options-allow-from-origin",
                                               "x-frame-options-implemented-via-csp"))


def _corp(scan: Scan) -> TestResult:
    name = "cross-origin-resource-policy"
    value = scan.page.first("cross-origin-resource-policy") if scan.page is not None else None
    if not value:
        return TestResult(name, "corp-not-implemented", True)
    v = value[:256].strip().lower()
    result = {"same-site": "corp-implemented-with-same-site", "same-origin": "corp-implemented-with-same-origin",
              "cross-origin": "corp-implemented-with-cross-origin"}.get(v, "corp-header-invalid")
    return TestResult(name, result, result != "corp-header-invalid")


def answer(url: str, status: int | None, headers: Sequence[tuple[str, str]], body: str = "") -> Answer:
    return Answer(url, status or 0, tuple((k.lower(), v) for k, v in headers), body)


def resolve(base: str, location: str) -> str:
    return urljoin(base, location)
