"""cors: allowed origins get exact CORS grants (preflight and real request), every other origin is refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..exchange import Exchange
from . import Violation, raise_collected, rule

SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})  # a preflight need not list these (Fetch standard)
FOREIGN_ORIGIN = "https://edgeverify-probe.evil.test"

ALLOWED_METHODS = "GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE"
EXACT_LIST = ("the API's CORS handler must compare the Origin against an exact allow-list of full origins "
              "(scheme://host[:port]) and send that one origin back; never reflect it, never match it with a "
              "pattern")

PREFLIGHT = rule(
    "cors.preflight",
    "A preflight from each allowed origin gets 2xx with that origin, the methods and the headers allowed",
    "Browsers send OPTIONS before any cross-origin call with a JSON body or custom headers; if the preflight fails "
    "the real call is never made and the app shows a network error. CloudFront must allow OPTIONS on the API "
    f"behavior (AllowedMethods {ALLOWED_METHODS}) and the API must answer it (API Gateway CORS configuration or an "
    "OPTIONS route) with Access-Control-Allow-Origin, -Methods and -Headers.",
    "Fetch standard, CORS protocol; edge rules 'cors'",
    threshold="status 2xx; the target's cors.methods and cors.request_headers allowed",
)
ACTUAL_REQUEST = rule(
    "cors.actual_request",
    "The real cross-origin request from each allowed origin gets Access-Control-Allow-Origin equal to that origin",
    "Without it the browser hides the response from the app, even though the API did the work (a POST is then "
    "executed but reported to the user as failed). The API's responses, not only its preflight answers, must "
    "carry the CORS headers: in a Lambda proxy integration the function sets them itself.",
    "Fetch standard, CORS check",
)
REFUSES_FOREIGN = rule(
    "cors.refuses_foreign",
    "Origins outside the allow-list (foreign, null, look-alikes, http://) get no Access-Control-Allow-Origin "
    "admitting them",
    "An admitted origin can read API responses in its visitors' browsers, with their cookies when credentials are "
    f"allowed: reflected origin plus credentials is 'universal access'. {EXACT_LIST[0].upper()}{EXACT_LIST[1:]}.",
    "s0md3v/Corsy probe classes; Mozilla HTTP Observatory 'cross-origin-resource-sharing'; PortSwigger CORS labs",
    threshold="the Corsy classes built from each allowed origin, plus cors.refused_origins",
)
WILDCARD_CREDENTIALS = rule(
    "cors.wildcard_credentials",
    "Access-Control-Allow-Origin: * is never sent with Access-Control-Allow-Credentials: true",
    "Browsers reject this combination, so credentialed calls fail; the usual 'fix' is to reflect the Origin "
    "instead, which opens the API to every site. Send the one allowed origin that asked (with Vary: Origin) and "
    "credentials true, or * without credentials for a truly public API.",
    "Fetch standard, CORS check; Mozilla HTTP Observatory",
)
VARY_ORIGIN = rule(
    "cors.vary_origin",
    "Responses whose Access-Control-Allow-Origin names an origin carry Vary: Origin",
    "A per-origin answer without Vary: Origin may be cached (by CloudFront, a proxy or the browser) and served to "
    "another origin, which then fails the CORS check at random. The API must add Vary: Origin whenever it "
    "chooses Access-Control-Allow-Origin from the request.",
    "Fetch standard, 'CORS protocol and HTTP caches'",
)
CACHE_KEY = rule(
    "cors.cache_key",
    "A response fetched once without Origin is not served to a later CORS request without its CORS headers",
    "If the cache key leaves Origin out, the first viewer without Origin (a crawler, curl, a same-origin page) "
    "fills the edge cache with a response without CORS headers, and every cross-origin request afterwards fails "
    "until it expires. Key the cache on Origin (a cache policy that includes the Origin header) or do not cache "
    "(CachingDisabled), and have the origin send Vary: Origin.",
    "PRX/Infrastructure#412; CloudFront 'Configuring CloudFront to respect CORS settings'",
)


@dataclass(frozen=True, slots=True)
class Probe:
    """An origin that must be refused, and the class of CORS mistake it would expose."""

    origin: str
    kind: str  # reflection | null | prefix | suffix | unescaped-dot | http | declared


CAUSES = {
    "reflection": "the API reflects any Origin into Access-Control-Allow-Origin: " + EXACT_LIST,
    "null": "the allow-list admits 'null', which sandboxed iframes and file: pages of any site send: remove it",
    "prefix": "the Origin is matched by prefix or with an unanchored pattern, so the allowed host followed by "
              "another domain passes: compare exact strings (or anchor the pattern: ^https://app\\.example\\.com$)",
    "suffix": "the Origin is matched by suffix or with an unanchored pattern, so a domain ending in the allowed "
              "name passes: compare exact strings (an anchored pattern must also require the dot before the domain)",
    "unescaped-dot": "the Origin is matched with a regular expression whose dots are not escaped ('.' matches any "
                     "character): escape them, or compare exact strings",
    "http": "the check ignores the scheme: anyone on the viewer's network can inject a page on the http:// origin; "
            "allow only the https:// origins",
    "declared": "the target lists this origin in cors.refused_origins: " + EXACT_LIST,
}


def refused_probes(allowed: Sequence[str], declared: Sequence[str] = ()) -> list[Probe]:
    """The origins a scanner such as Corsy tries against each allowed origin, plus the declared ones."""
    probes = [Probe(FOREIGN_ORIGIN, "reflection"), Probe("null", "null")]
    for origin in allowed:
        parts = urlsplit(origin)
        host, port = (parts.hostname or ""), (f":{parts.port}" if parts.port else "")
        bare = host.removeprefix("www.")
        probes += [Probe(f"{parts.scheme}://{host}.evil.test{port}", "prefix"),
                   Probe(f"{parts.scheme}://evil{bare}{port}", "suffix")]
        if "." in host:
            probes.append(Probe(f"{parts.scheme}://{host.replace('.', 'x', 1)}{port}", "unescaped-dot"))
        if parts.scheme == "https":
            probes.append(Probe(f"http://{host}{port}", "http"))
    probes += [Probe(o, "declared") for o in declared]
    allowed_set = {o.lower() for o in allowed}
    seen: set[str] = set()
    unique = []
    for p in probes:
        if p.origin.lower() not in allowed_set and p.origin.lower() not in seen:
            seen.add(p.origin.lower())
            unique.append(p)
    return unique


def allow_origin(ex: Exchange) -> str | None:
    return ex.header("access-control-allow-origin")


def admits(ex: Exchange, origin: str, wildcard: bool) -> bool:
    """Whether the response's Access-Control-Allow-Origin lets `origin` read it (`*` counts when `wildcard`)."""
    acao = (allow_origin(ex) or "").strip()
    return acao == origin or (wildcard and acao == "*")


def check_preflight(answers: Sequence[tuple[str, str, Exchange]], request_headers: Sequence[str],
                    credentials: bool) -> None:
    """answers: (origin, requested method, OPTIONS exchange) for each allowed origin and method."""
    wanted = [h.lower() for h in request_headers]
    expected = ("2xx with Access-Control-Allow-Origin equal to the requesting origin, the method and headers "
                f"({', '.join(wanted) or 'none'}) allowed" + (", Access-Control-Allow-Credentials: true"
                                                             if credentials else ""))
    problems: list[tuple[Exchange, str, str]] = []
    for origin, method, ex in answers:
        where = f"OPTIONS {urlsplit(ex.url).path} from {origin} for {method}"
        if ex.status is None:
            problems.append((ex, f"{where}: {ex.status_line}", "the edge did not answer"))
            continue
        if not 200 <= ex.status < 300:
            problems.append((ex, f"{where}: {ex.status_line}",
                             "the preflight does not reach the API's CORS handler: the API behavior must allow "
                             f"OPTIONS (AllowedMethods {ALLOWED_METHODS}) and the API must answer OPTIONS (enable "
                             "CORS in API Gateway, or add an OPTIONS route)"))
            continue
        missing = _grant_problems(ex, origin, credentials)
        methods = _tokens(ex.header("access-control-allow-methods"))
        if method.upper() not in SAFELISTED_METHODS and method.upper() not in methods and not (
                "*" in methods and not credentials):
            missing.append(f"Access-Control-Allow-Methods: {ex.header('access-control-allow-methods') or '(none)'} "
                           f"lacks {method}")
        headers = _tokens(ex.header("access-control-allow-headers"), upper=False)
        lacking = [h for h in wanted if h not in headers and not ("*" in headers and not credentials)]
        if lacking:
            missing.append(f"Access-Control-Allow-Headers: {ex.header('access-control-allow-headers') or '(none)'} "
                           f"lacks {', '.join(lacking)}")
        if missing:
            problems.append((ex, f"{where}: {'; '.join(missing)}", _grant_cause(ex, credentials) or
                             "the API's CORS configuration does not grant this origin, method or header: add them "
                             "to its allowed origins, methods and headers (API Gateway CORS settings, or the "
                             "OPTIONS handler)"))
    raise_collected(PREFLIGHT, expected, problems)


def check_actual_request(answers: Sequence[tuple[str, Exchange]], credentials: bool) -> None:
    """answers: (origin, exchange) of the real cross-origin request from each allowed origin."""
    expected = "Access-Control-Allow-Origin equal to the requesting origin" + (
        " and Access-Control-Allow-Credentials: true" if credentials else "")
    problems: list[tuple[Exchange, str, str]] = []
    for origin, ex in answers:
        where = f"{ex.method} {urlsplit(ex.url).path} from {origin}"
        if ex.status is None:
            problems.append((ex, f"{where}: {ex.status_line}", "the edge did not answer"))
            continue
        missing = _grant_problems(ex, origin, credentials)
        if missing:
            problems.append((ex, f"{where}: {ex.status_line}, {'; '.join(missing)}", _grant_cause(ex, credentials) or
                             "the API's responses lack the CORS headers its preflight promises: a Lambda proxy "
                             "integration must set Access-Control-Allow-Origin (the requesting allowed origin) on "
                             "every response, errors included; API Gateway adds them only to OPTIONS"))
    raise_collected(ACTUAL_REQUEST, expected, problems)


def check_refuses_foreign(answers: Sequence[tuple[Probe, Exchange]]) -> None:
    """answers: (probe, exchange) for each origin that must be refused (preflights and real requests)."""
    expected = "no Access-Control-Allow-Origin admitting any of the refused origins"
    problems: list[tuple[Exchange, str, str]] = []
    admitted: set[str] = set()
    for probe, ex in answers:
        if probe.origin in admitted or not admits(ex, probe.origin, wildcard=False):
            continue
        admitted.add(probe.origin)
        with_credentials = (ex.header("access-control-allow-credentials") or "").strip().lower() == "true"
        problems.append((ex, f"{probe.origin} ({probe.kind}) admitted by {ex.method} {urlsplit(ex.url).path}"
                             + (" WITH credentials" if with_credentials else ""), CAUSES[probe.kind]))
    if any(p[2] == CAUSES["reflection"] for p in problems):  # reflection explains every other class
        problems = [(p[0], p[1], CAUSES["reflection"]) for p in problems]
    worst = any("WITH credentials" in p[1] for p in problems)
    if worst:
        problems = [(p[0], p[1], p[2] + " (credentials are allowed too: any site can read its visitors' data, "
                     "the worst case)") for p in problems]
    raise_collected(REFUSES_FOREIGN, expected, problems, diagnose=False)


def check_wildcard_credentials(answers: Sequence[Exchange]) -> None:
    expected = "never Access-Control-Allow-Origin: * together with Access-Control-Allow-Credentials: true"
    problems = [(ex, f"{ex.method} {urlsplit(ex.url).path}"
                     + (f" from {ex_origin}" if (ex_origin := _request_origin(ex)) else "")
                     + ": Access-Control-Allow-Origin: *, Access-Control-Allow-Credentials: true",
                 "the API sends a fixed '*' and allows credentials: send the requesting origin when it is on the "
                 "allow-list (with Vary: Origin), or drop Access-Control-Allow-Credentials for a public API")
                for ex in answers
                if (allow_origin(ex) or "").strip() == "*"
                and (ex.header("access-control-allow-credentials") or "").strip().lower() == "true"]
    raise_collected(WILDCARD_CREDENTIALS, expected, problems, diagnose=False)


def check_vary_origin(answers: Sequence[Exchange]) -> None:
    expected = "Vary: Origin on every response whose Access-Control-Allow-Origin names an origin"
    problems = []
    for ex in answers:
        acao = (allow_origin(ex) or "").strip()
        if not acao or acao == "*":
            continue
        vary = _tokens(ex.header("vary"), upper=False)
        if "origin" not in vary and "*" not in vary:
            problems.append((ex, f"{ex.method} {urlsplit(ex.url).path}: Access-Control-Allow-Origin: {acao} with "
                                 f"{'Vary: ' + (ex.header('vary') or '') if ex.header('vary') else 'no Vary'}",
                             "the API chooses Access-Control-Allow-Origin per request but does not add "
                             "Vary: Origin: add it to every response of the CORS handler (errors and preflights "
                             "included)"))
    raise_collected(VARY_ORIGIN, expected, problems, diagnose=False)


def check_cache_key(without: Exchange, with_origin: Exchange, origin: str) -> None:
    """`without`: GET with no Origin; `with_origin`: the same GET from an allowed origin, right after."""
    expected = f"Access-Control-Allow-Origin: {origin} on the request with Origin, after one without"
    if with_origin.status is None:
        raise Violation(CACHE_KEY, expected, with_origin.status_line, with_origin, cause="the edge did not answer")
    if admits(with_origin, origin, wildcard=True):  # whether * suits credentials is cors.preflight's business
        return
    hit = with_origin.x_cache.lower().startswith(("hit", "refreshhit"))
    raise Violation(CACHE_KEY, expected,
                    f"{with_origin.status_line} without Access-Control-Allow-Origin"
                    + (f" (X-Cache: {with_origin.x_cache}: the copy cached for the request without Origin)"
                       if hit else ""),
                    with_origin, extra=[without], diagnose=False,
                    reproduce=f"{without.curl()} >/dev/null; {with_origin.curl()}",
                    cause="the cache key leaves Origin out: CloudFront stored the answer to the request without Origin "
                          "and served it to the CORS request; include Origin in the cache policy (or use "
                          "CachingDisabled on /api/*) and send Vary: Origin from the origin")


def _grant_cause(ex: Exchange, credentials: bool) -> str | None:
    values = ex.header_values("access-control-allow-origin")
    if len(values) > 1:
        return (f"Access-Control-Allow-Origin is sent {len(values)} times (a response headers policy and the "
                "integration both add it): browsers refuse a response with more than one; keep a single source")
    acao = (allow_origin(ex) or "").strip()
    if "," in acao:
        return (f"Access-Control-Allow-Origin holds a comma-separated list ({acao}): browsers accept exactly one "
                "origin or *, so this admits none; send back the requesting origin when it is on the allow-list, "
                "with Vary: Origin")
    if acao == "*" and credentials:
        return ("the API sends Access-Control-Allow-Origin: * but the app calls it with credentials (cors.credentials: "
                "true), which browsers refuse: send the requesting origin when it is on the allow-list, with "
                "Vary: Origin and Access-Control-Allow-Credentials: true")
    if acao and acao != "*":
        return (f"the API answers a different origin ({acao}): it must send back the requesting origin when that "
                "origin is on its allow-list")
    return None


def _grant_problems(ex: Exchange, origin: str, credentials: bool) -> list[str]:
    acao = allow_origin(ex)
    found = []
    if acao is None:
        found.append("no Access-Control-Allow-Origin")
    elif not admits(ex, origin, wildcard=not credentials):
        found.append(f"Access-Control-Allow-Origin: {acao}"
                     + (" (browsers refuse * for credentialed requests)" if acao.strip() == "*" else ""))
    if credentials and acao is not None and \
            (ex.header("access-control-allow-credentials") or "").strip().lower() != "true":
        found.append("no Access-Control-Allow-Credentials: true")
    return found


def _tokens(value: str | None, upper: bool = True) -> set[str]:
    items = {t.strip() for t in (value or "").split(",") if t.strip()}
    return {t.upper() if upper else t.lower() for t in items}


def _request_origin(ex: Exchange) -> str | None:
    return next((v for k, v in ex.request_headers if k.lower() == "origin"), None)
