"""Asset discovery: the same-origin files an entry document references, in order, once each."""

from edgeverify.discovery import discover_assets, referenced_assets
from edgeverify.exchange import Exchange
from edgeverify.target import Static, Target

DOMAIN = "www.example.com"

VITE_INDEX = """<!doctype html><html><head>
<link rel="icon" type="image/svg+xml" href="/favicon.svg">
<link rel="apple-touch-icon" href="/apple-touch-icon.png">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="stylesheet" href="/assets/index-B2xT9kQa.css">
<link rel="modulepreload" crossorigin href="/assets/vendor-Dk3k1Lx0.js">
<link rel="preload" as="font" href="/fonts/inter.woff2" crossorigin>
<link rel="preconnect" href="https://fonts.googleapis.com">
<link rel="canonical" href="https://www.example.com/">
<link rel="alternate" hreflang="de" href="/de/">
<script type="module" crossorigin src="/assets/index-Cf8dA7uM.js"></script>
<script>window.dataLayer = [];</script>
</head><body><div id="root"><img src="/img/logo.png" srcset="/img/logo@2x.png 2x, /img/logo@3x.png 3x" alt=""></div>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
</body></html>"""


def test_finds_scripts_links_and_images_in_document_order():
    assert referenced_assets(VITE_INDEX, DOMAIN) == [
        "/favicon.svg", "/apple-touch-icon.png", "/manifest.webmanifest", "/assets/index-B2xT9kQa.css",
        "/assets/vendor-Dk3k1Lx0.js", "/fonts/inter.woff2", "/assets/index-Cf8dA7uM.js",
        "/img/logo.png", "/img/logo@2x.png", "/img/logo@3x.png",
    ]


def test_ignores_links_a_browser_does_not_fetch_as_part_of_the_page():
    found = referenced_assets(VITE_INDEX, DOMAIN)
    assert "/" not in found and "/de/" not in found  # canonical, alternate
    assert not any("googleapis" in p for p in found)


def test_same_origin_absolute_urls_become_paths_and_other_hosts_are_ignored():
    html = ('<script src="https://WWW.EXAMPLE.COM/a.js"></script><script src="http://www.example.com/b.js?v=2#x">'
            '</script><script src="https://cdn.example.net/c.js"></script><script src="//cdn.example.net/d.js">'
            '</script><link rel="stylesheet" href="https://example.com/e.css">')
    assert referenced_assets(html, DOMAIN) == ["/a.js", "/b.js?v=2"]


def test_relative_urls_resolve_against_the_page_and_base():
    html = '<script src="main.js"></script><link rel="stylesheet" href="../s.css">'
    assert referenced_assets(html, DOMAIN, "/app/index.html") == ["/app/main.js", "/s.css"]
    assert referenced_assets('<base href="/static/"><script src="x.js"></script>', DOMAIN) == ["/static/x.js"]


def test_duplicates_are_listed_once():
    html = '<script src="/a.js"></script><link rel="modulepreload" href="/a.js"><script src="/a.js"></script>'
    assert referenced_assets(html, DOMAIN) == ["/a.js"]


def test_broken_html_does_not_raise():
    assert referenced_assets('<script src="/a.js"><link rel=stylesheet href=/b.css <img src=', DOMAIN) == ["/a.js"]
    assert referenced_assets("", DOMAIN) == []


class FakeEdge:
    """Answers the shared fetch of the entry document (Attempt.fetch: one request per run) and counts it."""

    def __init__(self, status: int = 200, body: str = '<script src="/a.js"></script>') -> None:
        self.status, self.body, self.calls = status, body, 0

    def fetch(self, path: str, whole: bool = False) -> Exchange:
        self.calls += 1
        return Exchange("GET", f"https://{DOMAIN}{path}", status=self.status,
                        headers=[("Content-Type", "text/html; charset=utf-8")], body=self.body.encode())


def test_discovery_reads_the_shared_entry_document_and_adds_declared_assets():
    target = Target(domain=DOMAIN, static=Static(pages=["/"], assets=["/robots.txt", "/a.js"]))
    edge = FakeEdge()
    assert discover_assets(edge, target) == ["/a.js", "/robots.txt"]  # type: ignore[arg-type]
    assert edge.calls == 1


def test_a_failed_entry_document_leaves_the_declared_assets():
    target = Target(domain=DOMAIN, static=Static(pages=["/"], assets=["/robots.txt"]))
    assert discover_assets(FakeEdge(status=503), target) == ["/robots.txt"]  # type: ignore[arg-type]


def test_discovery_off_uses_only_declared_assets():
    target = Target(domain=DOMAIN, static=Static(pages=["/"], assets=["/x.js"], discover=False))
    edge = FakeEdge()
    assert discover_assets(edge, target) == ["/x.js"]  # type: ignore[arg-type]
    assert edge.calls == 0
