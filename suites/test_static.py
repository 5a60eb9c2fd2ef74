"""static: every page and referenced asset is served to GET and HEAD, typed, compressed and revalidatable."""

import time

import pytest

from edgeverify.discovery import discover_assets
from edgeverify.rules import static

COMPRESSION_TRIES = 3  # CloudFront compresses on a best-effort basis: ask again before failing
COMPRESSION_PAUSE_S = 0.5


def served_files(edge, target):
    """The listed pages, then the assets the entry document references and the target lists."""
    return list(dict.fromkeys(target.static.pages + discover_assets(edge, target)))


@pytest.mark.rule("static.served")
def test_every_page_is_served(edge, page):
    static.check_served([edge.fetch(page)], "pages")


@pytest.mark.rule("static.served")
def test_every_referenced_asset_is_served(edge, target):
    assets = discover_assets(edge, target)
    if not assets:
        pytest.skip("the entry document references no same-origin assets and the target lists none")
    static.check_served([edge.fetch(path) for path in assets], "assets")


@pytest.mark.rule("static.head")
def test_every_file_answers_head(edge, target):
    static.check_head([edge.head(path) for path in served_files(edge, target)])


@pytest.mark.rule("static.media_type")
def test_every_file_has_its_media_type(edge, target):
    static.check_media_types([edge.fetch(path) for path in served_files(edge, target)])


@pytest.mark.rule("static.compressed")
def test_compressible_files_are_compressed(edge, target):
    low, high = target.static.compress_min_bytes, target.static.compress_max_bytes
    answers = []
    for path in served_files(edge, target):
        for attempt in range(COMPRESSION_TRIES):
            ex = edge.get(path)
            if static.compression_problem(ex, low, high) is None:
                break
            if attempt + 1 < COMPRESSION_TRIES:
                time.sleep(COMPRESSION_PAUSE_S)
        answers.append(ex)
    static.check_compressed(answers, low, high)


@pytest.mark.rule("static.validators")
def test_every_file_has_a_validator(edge, target):
    static.check_validators([edge.fetch(path) for path in served_files(edge, target)])


@pytest.mark.rule("static.conditional_get")
def test_revalidation_answers_not_modified(edge, target):
    pairs = []
    for path in served_files(edge, target):
        full = edge.get(path)  # fresh, right before its revalidation: the pair must see one version
        headers = static.conditional_headers(full)
        pairs.append((full, edge.get(path, headers=headers) if headers else None))
    static.check_conditional_get(pairs)


@pytest.mark.rule("static.leaky_headers")
def test_no_header_reveals_the_stack(edge, target):
    static.check_leaky_headers([edge.fetch(path) for path in served_files(edge, target)])


@pytest.mark.rule("static.mixed_content")
def test_pages_load_nothing_over_http(edge, target):
    static.check_mixed_content([edge.get(page) for page in target.static.pages])
