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
    static.check_served(edge.fetch_all(assets), "assets")


@pytest.mark.rule("static.head")
def test_every_file_answers_head(edge, target):
    static.check_head(edge.fetch_all(served_files(edge, target), method="HEAD"))


@pytest.mark.rule("static.media_type")
def test_every_file_has_its_media_type(edge, target):
    static.check_media_types(edge.fetch_all(served_files(edge, target)))


@pytest.mark.rule("static.compressed")
def test_compressible_files_are_compressed(edge, target):
    low, high = target.static.compress_min_bytes, target.static.compress_max_bytes
    paths = served_files(edge, target)
    answers = dict(zip(paths, edge.fetch_all(paths)))
    for _ in range(COMPRESSION_TRIES - 1):  # only the files that came back uncompressed are asked again
        again = [p for p, ex in answers.items() if static.compression_problem(ex, low, high) is not None]
        if not again:
            break
        time.sleep(COMPRESSION_PAUSE_S)
        answers.update(zip(again, edge.fetch_all(again, fresh=True)))
    static.check_compressed(list(answers.values()), low, high)


@pytest.mark.rule("static.validators")
def test_every_file_has_a_validator(edge, target):
    static.check_validators(edge.fetch_all(served_files(edge, target)))


@pytest.mark.rule("static.conditional_get")
def test_revalidation_answers_not_modified(edge, target):
    files = served_files(edge, target)
    fulls = edge.fetch_all(files)
    pairs = list(zip(fulls, edge.revalidate(fulls)))
    # A file that changed between its GET and its revalidation (mid-deploy) is asked again, as a fresh pair.
    changed = [i for i, (full, cond) in enumerate(pairs) if cond is not None and cond.status == 200
               and static.validator(cond) != static.validator(full)]
    if changed:
        again = edge.fetch_all([files[i] for i in changed], fresh=True)
        for i, pair in zip(changed, zip(again, edge.revalidate(again))):
            pairs[i] = pair
    static.check_conditional_get(pairs)


@pytest.mark.rule("static.leaky_headers")
def test_no_header_reveals_the_stack(edge, target):
    static.check_leaky_headers(edge.fetch_all(served_files(edge, target)))


@pytest.mark.rule("static.mixed_content")
def test_pages_load_nothing_over_http(edge, target):
    static.check_mixed_content(edge.fetch_all(target.static.pages))
