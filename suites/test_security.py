"""security: response headers on every answer kind, cookies, SRI, the Observatory grade, exposure, API errors' CORS."""

from urllib.parse import urljoin, urlsplit

import pytest

from edgeverify.discovery import discover_assets
from edgeverify.engine import entry_path
from edgeverify.evidence import Request
from edgeverify.observatory import Scan, answer, score
from edgeverify.probes import api_call_request, error_probe_paths, unique_path
from edgeverify.errors import NotApplicable
from edgeverify.rules import origin_direct, security, static

REDIRECTS = (301, 302, 303, 307, 308)
MAX_HOPS = 10  # as the scanner
SCANNER_ORIGIN = "https://http-observatory.security.mozilla.org"  # the Origin its CORS probe sends


def documents(edge, target):
    """The pages and deep links: what a browser renders (each gets the document's headers)."""
    return edge.fetch_all(list(dict.fromkeys(target.static.pages + target.spa.deep_links)))


def answers_of_every_kind(edge, target):
    """(kind, exchange) for a document, the referenced assets, the declared safe API calls, an error page of the
    static and of the API behavior, and the http:// redirect: a response headers policy is attached per behavior."""
    kinds = [("document", ex) for ex in documents(edge, target)]
    kinds += [("asset", ex) for ex in edge.fetch_all(discover_assets(edge, target))]
    calls = [api_call_request(target, c) for c in target.api.calls if c.method in ("GET", "HEAD")]
    kinds += [("api", ex) for ex in edge.send_all(calls)]
    kinds += [("error", ex) for ex in edge.fetch_all(error_probe_paths(target))]
    kinds.append(("redirect", edge.get(unique_path(), scheme="http")))
    return kinds


@pytest.mark.rule("security.csp_present")
def test_documents_carry_a_csp(edge, target):
    security.check_csp_present(documents(edge, target))


@pytest.mark.rule("security.csp_safe")
def test_csp_has_no_dangerous_form(edge, target):
    security.check_csp_safe(documents(edge, target))


@pytest.mark.rule("security.framing")
def test_documents_refuse_framing(edge, target):
    security.check_framing(documents(edge, target))


@pytest.mark.rule("security.nosniff")
def test_every_answer_kind_says_nosniff(edge, target):
    security.check_nosniff(answers_of_every_kind(edge, target))


@pytest.mark.rule("static.leaky_headers")  # the static suite judges pages and assets; here the other answer kinds
def test_api_error_and_redirect_answers_reveal_no_stack(edge, target):
    others = [ex for kind, ex in answers_of_every_kind(edge, target) if kind in ("api", "error", "redirect")]
    static.check_leaky_headers(others, "API, error and redirect answers")


@pytest.mark.rule("security.referrer_policy")
def test_documents_send_a_private_referrer_policy(edge, target):
    security.check_referrer_policy(documents(edge, target))


@pytest.mark.rule("security.cookies")
def test_cookies_are_secure_httponly_samesite(edge, target):
    security.check_cookies(answers_of_every_kind(edge, target), target.security.script_cookies)


@pytest.mark.rule("security.sri")
def test_cross_origin_scripts_carry_integrity(edge, target):
    security.check_sri(documents(edge, target), target.domain)


@pytest.mark.rule("security.isolation")
def test_documents_carry_coop_and_corp(edge, target):
    security.check_isolation(documents(edge, target))


def _follow(edge, target, ex, route):
    """Follow same-host redirects as the scanner does (at most MAX_HOPS), appending each answer to `route`."""
    for _ in range(MAX_HOPS):
        location = ex.header("location")
        if ex.status not in REDIRECTS or not location:
            break
        url = urljoin(ex.url, location)
        parts = urlsplit(url)
        if (parts.hostname or "").lower() != target.domain.lower():
            route.append(answer(url, None, ()))  # off the host: the hop is recorded, not fetched
            break
        ex = edge.get((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), scheme=parts.scheme)
        route.append(answer(ex.url, ex.status, ex.headers, ex.text))
    return ex


@pytest.mark.rule("security.grade")
def test_observatory_grade(edge, target):
    http = edge.get("/", scheme="http")
    route = [answer(http.url, http.status, http.headers, http.text)]
    _follow(edge, target, http, route)
    first = edge.fetch("/")
    chain = [answer(first.url, first.status, first.headers, first.text)]
    page = _follow(edge, target, first, chain)
    robots = edge.get("/robots.txt")
    cors = edge.request("OPTIONS", page.path, headers={"Origin": SCANNER_ORIGIN, "Access-Control-Request-Method": "GET"})
    cookies = tuple(v for a in chain + [answer(robots.url, robots.status, robots.headers)] for v in a.all("set-cookie"))
    grade = score(Scan(target.domain, chain[-1], tuple(route), not target.insecure, cookies,
                       answer(cors.url, cors.status, cors.headers), SCANNER_ORIGIN))
    edge.data["security"] = grade.to_dict()  # for the reports
    security.check_grade(grade, target.security.min_grade, page)


@pytest.mark.rule("security.source_maps")
def test_source_maps_are_not_public(edge, target):
    bundles = [a.split("?")[0] for a in discover_assets(edge, target) if a.split("?")[0].endswith((".js", ".mjs", ".css"))]
    if not bundles:
        pytest.skip("the entry document references no scripts or stylesheets")
    security.check_source_maps(edge.fetch_all([b + ".map" for b in bundles]), target.security.source_maps == "fail")


@pytest.mark.release_independent
@pytest.mark.rule("security.bucket_listing")
def test_no_bucket_listing(edge, target):
    security.check_bucket_listing(edge.fetch_all([entry_path(target), "/?list-type=2", "/?max-keys=1"]))


@pytest.mark.rule("security.dotfiles")
def test_dotfiles_are_not_served(edge, target):
    paths = list(dict.fromkeys(security.EXPOSURE_PATHS + tuple(target.security.exposure_paths)))
    security.check_dotfiles(edge.fetch_all(paths), edge.fetch(entry_path(target)))


@pytest.mark.rule("security.api_errors_cors")
def test_api_errors_keep_cors(edge, target):
    cors = target.cors
    if cors is None or not cors.allowed_origins:
        pytest.skip("the target declares no cors.allowed_origins")
    # Errors provoked without changing anything: an unknown route, and GET on a declared route that takes
    # another method (API Gateway answers both itself when no resource or method matches).
    paths = [target.api.probe_path] + [c.path for c in target.api.calls if c.method not in ("GET", "HEAD")][:1]
    asked = [(origin, Request.make("GET", path, headers={"Origin": origin}))
             for origin in cors.allowed_origins for path in paths]
    answers = edge.send_all([r for _, r in asked])
    security.check_api_errors_cors([(origin, ex) for (origin, _), ex in zip(asked, answers)], cors.credentials)


def origin_endpoints(edge, target):
    """kind -> URL of the origin endpoints to ask directly: the target's origins, else the distribution's (read once
    per run with the config suite's AWS side)."""
    if target.origins.named():
        return dict(target.origins.named())
    from edgeverify.aws.context import AwsContext

    try:
        config = edge.run.once("aws", lambda: AwsContext(target)).distribution().config
    except NotApplicable as exc:
        raise NotApplicable(f"the target names no origins (origins.bucket, origins.website, origins.api) and the "
                            f"distribution's cannot be read: {exc}") from None
    found = origin_direct.endpoints_of_distribution(config)
    if not found:
        raise NotApplicable("the distribution has no S3 or execute-api origin to ask directly")
    return found


@pytest.mark.release_independent
@pytest.mark.rule("security.origin_direct")
def test_origins_refuse_direct_requests(edge, target):
    endpoints = origin_endpoints(edge, target)
    entry = entry_path(target)
    assets = sorted((a for a in discover_assets(edge, target) if a.startswith("/")),  # a bundle rather than an icon
                    key=lambda a: not a.split("?")[0].endswith((".js", ".mjs", ".css")))[:1]
    calls = [c for c in target.api.calls if c.method in ("GET", "HEAD")][:1]
    # The same requests as the edge gets (its headers too), except an Authorization header towards S3: S3 would read
    # it as a signature and answer 400, hiding a public bucket (an empty value: libcurl sends none).
    no_auth = {name: "" for name in target.headers if name.lower() == "authorization"}
    asked = []  # (kind, what, direct request, the edge's request for the same thing)
    for kind in ("bucket", "website"):
        if kind in endpoints:
            for what, path in [("entry document", entry)] + [(f"asset {a}", a) for a in assets]:
                asked.append((kind, what, Request.make("GET", origin_direct.direct_url(kind, endpoints[kind], path),
                                                       headers=no_auth), Request.make("GET", path)))
    if "api" in endpoints:
        if calls:
            request = api_call_request(target, calls[0])
            what = f"API call {calls[0].method} {calls[0].path}"
        else:  # no declared safe call: an unknown route (the Lambda's 404 when open, API Gateway's 403 when refused)
            request, what = Request.make("GET", target.api.probe_path), f"API route {target.api.probe_path}"
        direct = Request.make(request.method, origin_direct.direct_url("api", endpoints["api"], request.path),
                              headers=dict(request.headers))
        asked.append(("api", what, direct, request))
    answers = edge.send_all([r for *_, r, _ in asked] + [e for *_, e in asked])
    direct, through = answers[:len(asked)], answers[len(asked):]
    probes = [origin_direct.Probe(kind, what, d, e) for (kind, what, _, _), d, e in zip(asked, direct, through)]
    edge.data["properties"] = origin_direct.refusals(probes)
    origin_direct.check_origin_direct(probes, endpoints)
