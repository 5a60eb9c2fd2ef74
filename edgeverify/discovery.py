"""Asset discovery: the same-origin files an entry document makes a browser fetch.

`referenced_assets` is pure. `discover_assets` reads the run's shared entry document (never at
collection time, so every xdist worker collects the same checks).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from .evidence import Attempt
    from .target import Target

# <link rel=...> values whose href a browser fetches as part of the page.
LINK_RELS = frozenset({"stylesheet", "icon", "apple-touch-icon", "apple-touch-icon-precomposed", "manifest",
                       "modulepreload", "preload", "mask-icon"})


class _References(HTMLParser):
    """Collects asset URLs from script, link and img tags, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"]
        elif tag == "script" and a.get("src"):
            self.urls.append(a["src"])
        elif tag == "link" and a.get("href") and LINK_RELS & set(a.get("rel", "").lower().split()):
            self.urls.append(a["href"])
        elif tag == "img":
            if a.get("src"):
                self.urls.append(a["src"])
            for candidate in a.get("srcset", "").split(","):
                url = candidate.strip().split(" ")[0] if candidate.strip() else ""
                if url:
                    self.urls.append(url)

    handle_startendtag = handle_starttag


def referenced_assets(html: str, domain: str, page: str = "/") -> list[str]:
    """Same-origin paths (with query) the document references; other hosts and data: URLs are left out."""
    parser = _References()
    parser.feed(html)
    parser.close()
    base = urljoin(f"https://{domain}{page}", parser.base or "")
    seen: dict[str, None] = {}
    for raw in parser.urls:
        url = urljoin(base, raw.strip())
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() != domain.lower():
            continue
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        seen.setdefault(path, None)
    return list(seen)


def discover_assets(edge: Attempt, target: Target) -> list[str]:
    """The entry document's assets plus target.static.assets.

    The entry document is the run's shared answer (the one the release gate saw): one request per
    run, the same release for every check, fetched again when failing checks retry.
    """
    declared = list(dict.fromkeys(target.static.assets))
    if not target.static.discover or not target.static.pages:
        return declared
    entry = target.static.pages[0]
    ex = edge.fetch(entry, whole=True)
    if ex.status != 200 or ex.content_type != "text/html":
        return declared
    found = ex.derived("assets", lambda e: referenced_assets(e.text, target.domain, entry))
    return list(dict.fromkeys(found + declared))
