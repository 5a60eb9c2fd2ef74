"""security: the response headers a browser enforces (CSP, framing, nosniff, referrer, cookies, SRI, isolation)
on every answer kind, the Observatory grade, exposure (source maps, bucket listing, dotfiles), API errors with CORS.

CloudFront adds security headers with a response headers policy attached per cache behavior; a policy on the
default behavior does nothing for /api/* or /assets/* behaviors, so the rules look at every kind of answer:
documents, assets, API answers, error pages and redirects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

from ..exchange import Exchange
from ..observatory import (DANGEROUSLY_BROAD, REFERRER_GOOD, UNSAFE_INLINE, CspInvalid, Grade, grade_rank, markup,
                           parse_cookie, parse_csp, referrer_verdict, samesite_invalid)
from . import Violation, raise_collected, rule

POLICY = "the CloudFront response headers policy attached to that behavior"
OBSERVATORY = "MDN HTTP Observatory (scoring of @mdn/mdn-http-observatory 1.4.8)"

CSP_PRESENT = rule(
    "security.csp_present",
    "Documents carry a Content-Security-Policy",
    "A CSP is the browser's second line against cross-site scripting: without one, any injected script runs with "
    "the app's privileges. CloudFront's managed SecurityHeadersPolicy sends none: attach a custom response "
    "headers policy whose SecurityHeadersConfig.ContentSecurityPolicy holds the app's policy (Override: true).",
    f"{OBSERVATORY}: content-security-policy (-25 when absent); MDN 'Content Security Policy'",
    threshold="every page, deep link and the entry document",
)
CSP_SAFE = rule(
    "security.csp_safe",
    "The CSP has no dangerous form: no 'unsafe-inline'/'unsafe-eval' or broad sources for scripts, objects "
    "restricted, base-uri and frame-ancestors set, no repeated directive",
    "'unsafe-inline' (without nonces or hashes), 'unsafe-eval', '*', 'https:' or 'data:' in script-src let an "
    "injected script run anyway; a missing object-src (or default-src 'none') allows plugins, a missing base-uri "
    "lets an injected <base> redirect relative scripts, and frame-ancestors does not fall back to default-src. A "
    "repeated directive makes scanners void the policy. Fix the policy text in the response headers policy "
    "(SecurityHeadersConfig.ContentSecurityPolicy).",
    f"{OBSERVATORY}: csp-implemented-with-unsafe-inline (-20), -unsafe-eval (-10); Google CSP Evaluator; "
    "MDN 'CSP: base-uri', 'CSP: object-src'",
)
FRAMING = rule(
    "security.framing",
    "Documents refuse framing by other sites (CSP frame-ancestors, or X-Frame-Options DENY/SAMEORIGIN)",
    "A page any site may frame can be overlaid and clicked through (clickjacking). Set "
    "SecurityHeadersConfig.FrameOptions (FrameOption DENY or SAMEORIGIN) in the response headers policy, or a "
    "frame-ancestors directive in its ContentSecurityPolicy.",
    f"{OBSERVATORY}: x-frame-options (-20 when absent, +5 via CSP frame-ancestors); RFC 7034",
)
NOSNIFF = rule(
    "security.nosniff",
    "Every answer (document, asset, API, error page, redirect) carries X-Content-Type-Options: nosniff",
    "Without nosniff a browser may guess a type and run an uploaded or error body as script or style. The header "
    "comes from the response headers policy of each behavior: a behavior without one (often /api/* or /assets/*) "
    "answers without it. Attach a policy with SecurityHeadersConfig.ContentTypeOptions (Override: true) to every "
    "cache behavior.",
    f"{OBSERVATORY}: x-content-type-options (-5); Fetch standard 'X-Content-Type-Options'",
    threshold="every answer kind the suite sees",
)
REFERRER = rule(
    "security.referrer_policy",
    "Documents send a private Referrer-Policy (no-referrer, same-origin, strict-origin or "
    "strict-origin-when-cross-origin)",
    "Without a private policy, full URLs (paths and query strings, often with tokens or ids) leak to every site "
    "the app links to or loads from. Set SecurityHeadersConfig.ReferrerPolicy to strict-origin-when-cross-origin "
    "(the managed SecurityHeadersPolicy's value) or stricter.",
    f"{OBSERVATORY}: referrer-policy (+5 private, -5 unsafe); W3C Referrer Policy",
)
COOKIES = rule(
    "security.cookies",
    "Every cookie set is Secure, has a valid SameSite, and is HttpOnly unless the app's scripts read it",
    "A cookie without Secure is sent over plain HTTP where anyone on the path reads it; without HttpOnly an "
    "injected script steals the session; without SameSite it rides along cross-site requests (CSRF). The "
    "attributes come from whoever sets the cookie: the Lambda, or a CloudFront Function / Lambda@Edge on "
    "viewer response.",
    f"{OBSERVATORY}: cookies (-40 session without Secure, -30 without HttpOnly, -20 SameSite invalid); RFC 6265bis",
    threshold="HttpOnly not required for the names in security.script_cookies",
)
SRI = rule(
    "security.sri",
    "Cross-origin scripts and stylesheets carry an integrity attribute (and are loaded over https)",
    "A script from a CDN runs with the app's privileges: if the CDN is compromised, so is the app. An integrity "
    "hash (with crossorigin) makes the browser refuse a changed file. Add integrity in the build (the bundler's "
    "SRI plugin) or self-host the file.",
    f"{OBSERVATORY}: subresource-integrity (-5 without, -50 over http); W3C Subresource Integrity",
)
ISOLATION = rule(
    "security.isolation",
    "Documents carry Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy",
    "COOP same-origin keeps pages opened by other sites from scripting the app's window; CORP same-origin or "
    "same-site keeps other sites from embedding its answers (Spectre-style leaks). Add them as custom headers "
    "(CustomHeadersConfig) in the response headers policy.",
    f"{OBSERVATORY}: cross-origin-resource-policy (+10 same-origin/same-site); MDN COOP/CORP",
    severity="advisory",
)
GRADE = rule(
    "security.grade",
    "The MDN HTTP Observatory grade, computed from the edge's answers, is at least the target's minimum",
    "Security reviews ask for this grade. It starts at 100 and loses points for each missing protection (no CSP "
    "-25, no framing protection -20, no HSTS -20, insecure cookies up to -40, no nosniff -5); bonuses count only "
    "from 90. The failing tests name the response headers policy settings to add.",
    f"{OBSERVATORY}: src/scanner/index.js, src/grader/charts.js (github.com/mdn/mdn-http-observatory v1.4.8)",
    threshold="security.min_grade, default A",
)
SOURCE_MAPS = rule(
    "security.source_maps",
    "The bundles' source maps are not served publicly with the source text",
    "A public .map file hands out the original source (comments, internal names, sometimes keys). Upload maps "
    "to a private location (or build with hidden source maps), or exclude *.map from the deploy "
    "(aws s3 sync --exclude '*.map').",
    "webpack/Vite docs 'devtool: hidden-source-map'; OWASP WSTG-INFO-05",
    severity="advisory",
    threshold="advisory; security.source_maps: fail makes it fail",
)
BUCKET_LISTING = rule(
    "security.bucket_listing",
    "The site never answers an S3 bucket listing (ListBucketResult)",
    "A listing shows every key in the bucket, unreleased builds and forgotten files included. It appears when a "
    "request reaches the bucket root (no DefaultRootObject) and the bucket policy grants s3:ListBucket to "
    "CloudFront or everyone. Set DefaultRootObject index.html and grant CloudFront's OAC only s3:GetObject.",
    "AWS S3 ListObjectsV2 reference; CloudFront 'Specifying a default root object'",
)
DOTFILES = rule(
    "security.dotfiles",
    "Dotfiles and build leftovers (.env, .git/, .DS_Store) answer the shell or 403/404, never their content",
    "`aws s3 sync` uploads everything in the build folder, hidden files included: a served .env leaks "
    "configuration and secrets, .git/ the source history. Exclude them from the deploy "
    "(--exclude '.*' --exclude '*/.*') and delete them from the bucket.",
    "OWASP WSTG-CONF-04 'Review Old Backup and Unreferenced Files'",
    threshold=".env, .DS_Store, .git/config, .git/HEAD plus security.exposure_paths",
)
API_ERRORS_CORS = rule(
    "security.api_errors_cors",
    "The API's error answers (unknown route, refused method) carry the same CORS grant as its successes",
    "Without Access-Control-Allow-Origin on a 4xx/5xx the browser hides the status from the app, which then "
    "sees a network (CORS) error instead of the 401/403/404/429 it must handle. API Gateway's own errors come "
    "from gateway responses, which carry no CORS headers unless configured: add Access-Control-Allow-Origin to "
    "the DEFAULT_4XX and DEFAULT_5XX gateway responses; the Lambda's error path must set them too.",
    "AWS API Gateway 'Enable CORS for a REST API resource' (gateway responses); Fetch standard, CORS check",
)

EXPOSURE_PATHS = ("/.env", "/.DS_Store", "/.git/config", "/.git/HEAD")


# -- CSP, framing ---------------------------------------------------------------------------------------------

def _where(ex: Exchange) -> str:
    return f"{ex.method} {ex.path}"


def header_csp(ex: Exchange) -> list[str]:
    return [v for k, v in ex.headers if k.lower() == "content-security-policy"]


def meta_csp(ex: Exchange) -> list[str]:
    return markup(ex.text).meta_csp if ex.content_type == "text/html" and ex.body else []


def check_csp_present(documents: Sequence[Exchange]) -> None:
    problems = [(ex, f"{_where(ex)}: {ex.status_line} without Content-Security-Policy")
                for ex in documents if not header_csp(ex) and not meta_csp(ex)]
    raise_collected(CSP_PRESENT, "a Content-Security-Policy header on every document", problems, len(documents),
                    "documents", diagnose=False,
                    cause=f"no CSP in {POLICY}: the managed SecurityHeadersPolicy has none; attach a custom policy "
                          "with SecurityHeadersConfig.ContentSecurityPolicy (e.g. default-src 'self'; object-src "
                          "'none'; base-uri 'self'; frame-ancestors 'self') to the default behavior")


def csp_problems(policies: Sequence[str]) -> list[str]:
    """What makes a policy (the headers of one answer) dangerous; [] for a sound one."""
    try:
        csp = parse_csp(policies)
    except CspInvalid as exc:
        return [f"invalid policy ({exc}): scanners and reviewers treat it as no policy"]
    found = []
    script = csp.get("script-src") or csp.get("default-src") or {"*"}
    nonce_or_hash = any(s.startswith(("'sha256-", "'sha384-", "'sha512-", "'nonce-")) for s in script)
    if "'unsafe-inline'" in script and not nonce_or_hash:
        found.append("script-src allows 'unsafe-inline' without nonces or hashes")
    if "'unsafe-eval'" in script:
        found.append("script-src allows 'unsafe-eval'")
    broad = sorted(script & (DANGEROUSLY_BROAD | (UNSAFE_INLINE - {"'unsafe-inline'"})))
    if broad and "'strict-dynamic'" not in script:
        found.append(f"script-src allows {' '.join(broad)} (any script from anywhere)")
    objects = csp.get("object-src") or csp.get("default-src")
    if objects is None:
        found.append("no object-src (and no default-src): plugins load from anywhere")
    elif objects & DANGEROUSLY_BROAD or not objects <= {"'none'", "'self'"}:
        found.append(f"object-src {' '.join(sorted(objects))}: give 'none'")
    if "base-uri" not in csp:
        found.append("no base-uri (it does not fall back to default-src): give 'self' or 'none'")
    if "frame-ancestors" not in csp:
        found.append("no frame-ancestors (it does not fall back to default-src)")
    elif csp["frame-ancestors"] & DANGEROUSLY_BROAD:
        found.append(f"frame-ancestors {' '.join(sorted(csp['frame-ancestors']))} lets any site frame the page")
    return found


def check_csp_safe(documents: Sequence[Exchange]) -> None:
    problems = []
    judged = 0
    for ex in documents:
        policies = header_csp(ex)
        if not policies:
            continue  # security.csp_present says so
        judged += 1
        found = csp_problems(policies)
        if found:
            problems.append((ex, f"{_where(ex)}: {'; '.join(found)}"))
    raise_collected(CSP_SAFE, "a Content-Security-Policy without unsafe forms, with object-src, base-uri and "
                    "frame-ancestors", problems, judged, "documents with a CSP", diagnose=False,
                    cause=f"the policy text in {POLICY} (SecurityHeadersConfig.ContentSecurityPolicy): remove "
                          "'unsafe-inline'/'unsafe-eval' (move inline scripts to files, or use nonces or hashes), "
                          "replace broad sources with the hosts used, add object-src 'none'; base-uri 'self'; "
                          "frame-ancestors 'self'")


def framing_protected(ex: Exchange) -> str | None:
    """How the answer refuses framing, or None."""
    xfo = (ex.header("x-frame-options") or "").strip().lower()
    try:
        csp = parse_csp(header_csp(ex))
    except CspInvalid:
        csp = {}
    ancestors = csp.get("frame-ancestors")
    if ancestors and not ancestors & DANGEROUSLY_BROAD:
        return f"frame-ancestors {' '.join(sorted(ancestors))}"
    if xfo in ("deny", "sameorigin"):
        return f"X-Frame-Options {xfo.upper()}"
    return None


def check_framing(documents: Sequence[Exchange]) -> None:
    problems = []
    for ex in documents:
        if framing_protected(ex) is None:
            xfo = ex.header("x-frame-options")
            problems.append((ex, f"{_where(ex)}: " + (f"X-Frame-Options: {xfo} (not DENY or SAMEORIGIN)" if xfo
                                                      else "no X-Frame-Options and no CSP frame-ancestors")))
    raise_collected(FRAMING, "CSP frame-ancestors, or X-Frame-Options DENY or SAMEORIGIN, on every document",
                    problems, len(documents), "documents", diagnose=False,
                    cause=f"no framing protection in {POLICY}: set SecurityHeadersConfig.FrameOptions "
                          "(FrameOption SAMEORIGIN or DENY, Override: true), or add frame-ancestors 'self' to "
                          "its ContentSecurityPolicy")


# -- every answer kind: nosniff, cookies --------------------------------------------------------------------------

def check_nosniff(answers: Sequence[tuple[str, Exchange]]) -> None:
    """answers: (kind, exchange), kind one of document, asset, api, error, redirect."""
    problems = []
    for kind, ex in answers:
        value = ex.header("x-content-type-options")
        if (value or "").strip().lower() != "nosniff":
            problems.append((ex, f"{kind} {_where(ex)}: {ex.status_line}, "
                                 + (f"X-Content-Type-Options: {value}" if value else "no X-Content-Type-Options")))
    kinds = sorted({p[1].split(" ", 1)[0] for p in problems})
    raise_collected(NOSNIFF, "X-Content-Type-Options: nosniff on every answer", problems, len(answers),
                    "answers", diagnose=False,
                    cause=f"the behavior serving these {'/'.join(kinds)} answers has no response headers policy "
                          "with SecurityHeadersConfig.ContentTypeOptions (Override: true): attach one (the managed "
                          "SecurityHeadersPolicy has it) to every cache behavior, /api/* and /assets/* included")


def check_referrer_policy(documents: Sequence[Exchange]) -> None:
    problems = []
    for ex in documents:
        values = [v for k, v in ex.headers if k.lower() == "referrer-policy"] + markup(ex.text).meta_referrer \
            if ex.content_type == "text/html" else [v for k, v in ex.headers if k.lower() == "referrer-policy"]
        verdict = referrer_verdict(values)
        if verdict != "referrer-policy-private":
            shown = ", ".join(values) if values else "none"
            problems.append((ex, f"{_where(ex)}: Referrer-Policy {shown} "
                                 f"({verdict.removeprefix('referrer-policy-').replace('-', ' ')})"))
    raise_collected(REFERRER, f"Referrer-Policy one of {', '.join(REFERRER_GOOD)}", problems, len(documents),
                    "documents", diagnose=False,
                    cause=f"{POLICY} sends no private referrer policy: set SecurityHeadersConfig.ReferrerPolicy "
                          "to strict-origin-when-cross-origin (Override: true)")


def cookie_problems(raw: str, script_cookies: Sequence[str]) -> list[str]:
    cookie = parse_cookie(raw)
    if cookie is None:
        return []
    found = []
    if not cookie.secure:
        found.append("no Secure")
    if cookie.name not in script_cookies and not cookie.http_only:
        found.append("no HttpOnly")
    if samesite_invalid(raw):
        found.append("an invalid SameSite")
    elif cookie.same_site is None:
        found.append("no SameSite")
    elif cookie.same_site.lower() == "none" and not cookie.secure:
        found.append("SameSite=None without Secure (browsers drop it)")
    return found


def check_cookies(answers: Sequence[tuple[str, Exchange]], script_cookies: Sequence[str] = ()) -> None:
    problems = []
    seen: set[str] = set()
    total = 0
    for kind, ex in answers:
        for name, raw in ex.headers:
            if name.lower() != "set-cookie":
                continue
            total += 1
            cookie = parse_cookie(raw)
            found = cookie_problems(raw, script_cookies)
            if found and cookie is not None and cookie.name not in seen:
                seen.add(cookie.name)
                problems.append((ex, f"cookie {cookie.name} set by {kind} {_where(ex)}: {', '.join(found)}"))
    raise_collected(COOKIES, "Set-Cookie with Secure, SameSite=Lax or Strict, and HttpOnly (unless listed in "
                    "security.script_cookies)", problems, total, "cookies set", diagnose=False,
                    cause="the code setting these cookies omits the attributes: add '; Secure; HttpOnly; "
                          "SameSite=Lax' where the cookie is made (the Lambda, or the CloudFront Function / "
                          "Lambda@Edge on viewer response that sets it)")


# -- SRI, isolation -----------------------------------------------------------------------------------------------

def foreign_subresources(ex: Exchange, domain: str) -> list[tuple[str, str, str | None]]:
    """(tag, absolute URL, integrity) of the document's scripts and stylesheets from another origin."""
    page = markup(ex.text)
    found = []
    base = ex.url
    for tag, attrs, key in ([("script", a, "src") for a in page.scripts]
                            + [("link", a, "href") for a in page.links
                               if "stylesheet" in a.get("rel", "").lower().split()]):
        raw = attrs.get(key, "").strip()
        if not raw:
            continue
        url = urljoin(base, raw)
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and (parts.hostname or "").lower() != domain.lower():
            found.append((tag, url, attrs.get("integrity") or None))
    return found


def check_sri(documents: Sequence[Exchange], domain: str) -> None:
    problems = []
    total = 0
    for ex in documents:
        if ex.content_type != "text/html":
            continue
        for tag, url, integrity in foreign_subresources(ex, domain):
            total += 1
            if not integrity:
                problems.append((ex, f"{_where(ex)}: <{tag}> {url} without integrity"))
            elif urlsplit(url).scheme != "https":
                problems.append((ex, f"{_where(ex)}: <{tag}> {url} over http"))
    raise_collected(SRI, "integrity=\"sha384-...\" (and crossorigin) on every cross-origin script and stylesheet",
                    problems, total, "cross-origin scripts and stylesheets", diagnose=False,
                    cause="the build emits the CDN tag without its hash: add integrity and crossorigin=\"anonymous\" "
                          "(the CDN publishes the hash; bundlers have SRI plugins), or self-host the file")


def check_isolation(documents: Sequence[Exchange]) -> None:
    problems = []
    for ex in documents:
        missing = [h for h in ("Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy") if not ex.header(h)]
        if missing:
            problems.append((ex, f"{_where(ex)}: no {' and no '.join(missing)}"))
    raise_collected(ISOLATION, "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Resource-Policy: same-origin "
                    "(or same-site)", problems, len(documents), "documents", diagnose=False,
                    cause=f"add them to {POLICY} as CustomHeadersConfig items (Override: true)")


# -- the grade ----------------------------------------------------------------------------------------------------

def check_grade(grade: Grade, minimum: str, page: Exchange | None) -> None:
    if grade_rank(grade.grade) <= grade_rank(minimum):
        return
    lost = [f"{t.name}: {t.result} ({t.modifier:+d})" for t in grade.tests if t.modifier < 0]
    raise Violation(GRADE, f"grade {minimum} or better", f"grade {grade.grade} (score {grade.score}); points lost: "
                    + "; ".join(lost), page, diagnose=False,
                    cause=f"{POLICY} lacks what the failing tests name: see the security suite's other findings "
                          "for each header to add")


# -- exposure -----------------------------------------------------------------------------------------------------

def is_source_map(ex: Exchange) -> bool:
    """A served source map, told apart from the SPA shell or an error page by its content."""
    if ex.status != 200 or not ex.body:
        return False
    text = ex.text_start(4096).lstrip()
    return text.startswith("{") and '"mappings"' in text and '"version"' in text


def check_source_maps(maps: Sequence[Exchange], fail: bool = False) -> None:
    served = [ex for ex in maps if is_source_map(ex)]
    problems = [(ex, f"{_where(ex)}: {ex.status_line}, a source map"
                     + (" with the source text (sourcesContent)" if "sourcesContent" in ex.text else ""))
                for ex in served]
    if not problems:
        return
    registered = dataclasses.replace(SOURCE_MAPS, severity="fail") if fail else SOURCE_MAPS
    raise_collected(registered, "403/404 (or the app shell) for each bundle's .map", problems, len(maps),
                    "source maps asked", diagnose=False,
                    cause="the deploy uploads the bundler's .map files next to the bundles: exclude them "
                          "(aws s3 sync --exclude '*.map'), build with hidden source maps, or keep them in a "
                          "private bucket for the error tracker")


def is_listing(ex: Exchange) -> bool:
    return ex.status == 200 and "<ListBucketResult" in ex.text_start(2048)


def check_bucket_listing(answers: Sequence[Exchange]) -> None:
    problems = [(ex, f"{_where(ex)}: {ex.status_line}, an S3 ListBucketResult") for ex in answers if is_listing(ex)]
    raise_collected(BUCKET_LISTING, "no ListBucketResult in any answer", problems, len(answers), "answers",
                    diagnose=False,
                    cause="the request reaches the bucket root and the bucket policy grants s3:ListBucket: set the "
                          "distribution's DefaultRootObject to index.html and let the OAC principal only "
                          "s3:GetObject")


def check_dotfiles(answers: Sequence[Exchange], shell: Exchange | None) -> None:
    """Each probe of a dotfile answers the SPA shell (the same document as the entry page), or an error."""
    shell_body = shell.body if shell is not None and shell.status == 200 else None
    problems = []
    for ex in answers:
        if ex.status is None or not 200 <= ex.status < 300:
            continue
        if shell_body is not None and ex.body == shell_body:
            continue  # the SPA shell: the file is not there
        if ex.content_type == "text/html" and "<html" in ex.text_start(2048).lower():
            continue  # some HTML page (a fallback), not the file
        problems.append((ex, f"{_where(ex)}: {ex.status_line}, {ex.size:,} bytes of {ex.content_type or 'untyped'} "
                             f"content: {ex.text_start(60)!r}"))
    raise_collected(DOTFILES, "the app shell or 403/404 for each, never the file", problems, len(answers),
                    "dotfile probes", diagnose=False,
                    cause="the deploy uploaded hidden files with the build: aws s3 sync --exclude '.*' "
                          "--exclude '*/.*' (and delete them from the bucket: aws s3 rm --recursive ... --exclude "
                          "'*' --include '.*')")


# -- API errors keep CORS -----------------------------------------------------------------------------------------

def check_api_errors_cors(answers: Sequence[tuple[str, Exchange]], credentials: bool) -> None:
    """answers: (origin, error answer) for each allowed origin and each provoked API error (4xx/5xx)."""
    problems = []
    judged = 0
    for origin, ex in answers:
        if ex.status is None or ex.status < 400:
            continue
        judged += 1
        acao = (ex.header("access-control-allow-origin") or "").strip()
        wrong = []
        if acao != origin and not (acao == "*" and not credentials):
            wrong.append(f"Access-Control-Allow-Origin: {acao}" if acao else "no Access-Control-Allow-Origin")
        if credentials and (ex.header("access-control-allow-credentials") or "").strip().lower() != "true":
            wrong.append("no Access-Control-Allow-Credentials: true")
        if wrong:
            kind = ex.header("x-amzn-errortype")
            problems.append((ex, f"{_where(ex)} from {origin}: {ex.status_line}"
                                 + (f" ({kind})" if kind else "") + f", {'; '.join(wrong)}"))
    raise_collected(API_ERRORS_CORS, "Access-Control-Allow-Origin equal to the requesting allowed origin on the "
                    "API's 4xx/5xx too", problems, judged, "API error answers", diagnose=False,
                    cause="API Gateway's gateway responses carry no CORS headers unless configured: add "
                          "Access-Control-Allow-Origin (and -Credentials) as response parameters of the DEFAULT_4XX "
                          "and DEFAULT_5XX gateway responses (aws apigateway put-gateway-response), and set them on "
                          "the Lambda's error path too")
