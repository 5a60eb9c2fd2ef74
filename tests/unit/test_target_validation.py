"""Target validation with ranges (issue 9, point 5): each bad file is refused in one paragraph naming the file,
the line and the key, with a did-you-mean where a name is close; good values and the new keys load."""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from edgeverify import cli
from edgeverify.errors import TargetError
from edgeverify.target import (MAX_FILE_BYTES, RANGES, check_connect_to, load_target, normalize_host,
                               validate_seconds)

ROOT = Path(__file__).resolve().parents[2]
D = "domain: www.example.com\n"
CALL = D + "api:\n  calls:\n    - path: /api/x\n"
LAUGHS = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n"
                 for i in range(9)) + D

# (id, file text, line, key or None, a fragment of the message)
BAD = [
    ("connect-zero", D + "timeouts:\n  connect: 0\n", 3, "timeouts.connect", "0 is out of range; give 0.001 to 3600 seconds"),
    ("read-negative", D + "timeouts:\n  read: -1\n", 3, "timeouts.read", "-1 is out of range"),
    ("total-nan", D + "timeouts:\n  total: .nan\n", 3, "timeouts.total", "'.nan' is not a finite number"),
    ("connect-inf", D + "timeouts:\n  connect: -.inf\n", 3, "timeouts.connect", "is not a finite number"),
    ("float-overflow", D + "timeouts:\n  read: 1.0e+999\n", 3, "timeouts.read", "is not a finite number"),
    ("total-below-connect", D + "timeouts:\n  connect: 20\n  total: 10\n", 4, "timeouts.total",
     "10 s is shorter than timeouts.connect (20 s)"),
    ("run-too-small", D + "timeouts:\n  run: 0.5\n", 3, "timeouts.run", "0.5 is out of range; give 1 to 604,800 seconds"),
    ("run-before-release", D + "timeouts:\n  run: 10\npropagation:\n  timeout: 600\n", 3, "timeouts.run",
     "the run deadline 10 s is shorter than propagation.timeout 600 s"),
    ("body-zero", D + "max_body_bytes: 0\n", 2, "max_body_bytes", "0 is out of range; give 1024 to 1,073,741,824 bytes"),
    ("body-huge", D + "max_body_bytes: 5000000000\n", 2, "max_body_bytes", "out of range"),
    ("connections-zero", D + "max_connections: 0\n", 2, "max_connections", "give 1 to 256"),
    ("propagation-negative", D + "propagation:\n  timeout: -5\n", 3, "propagation.timeout", "give 0 to 86,400 seconds"),
    ("propagation-days", D + "propagation:\n  timeout: 100000\n", 3, "propagation.timeout", "out of range"),
    ("interval-zero", D + "propagation:\n  interval: 0\n", 3, "propagation.interval", "give 0.5 to 3600 seconds"),
    ("interval-above-max", D + "propagation:\n  interval: 20\n  max_interval: 10\n", 3, "propagation.interval",
     "interval 20 s is above max_interval 10 s"),
    ("max-interval-hours", D + "propagation:\n  max_interval: 7200\n", 3, "propagation.max_interval", "out of range"),
    ("release-marker-empty", D + "propagation:\n  release_marker: ''\n", 3, "propagation.release_marker",
     "empty; every page would contain it"),
    ("redirects-empty", D + "https:\n  redirect_statuses: []\n", 3, "https.redirect_statuses", "empty"),
    ("redirect-200", D + "https:\n  redirect_statuses: [301, 200]\n", 3, "https.redirect_statuses[1]",
     "200 is out of range; give 300 to 399"),
    ("status-99999", CALL + "      expect: {status: 99999}\n", 5, "api.calls[0].expect.status", "give 100 to 599"),
    ("status-99", CALL + "      expect:\n        status: 99\n", 6, "api.calls[0].expect.status", "out of range"),
    ("cert-days", D + "https:\n  cert_min_days: 5000\n", 3, "https.cert_min_days", "give 0 to 3650 days"),
    ("html-age-negative", D + "cache:\n  html_max_max_age: -1\n", 3, "cache.html_max_max_age", "out of range"),
    ("compress-order", D + "static:\n  compress_min_bytes: 5000\n  compress_max_bytes: 5000\n", 3,
     "static.compress_min_bytes", "must be below compress_max_bytes"),
    ("pages-empty", D + "static:\n  pages: []\n", 3, "static.pages", "needs at least one page"),
    ("parity-zero", D + "aws:\n  parity_max_objects: 0\n", 3, "aws.parity_max_objects", "give 1 to 1,000,000"),
    ("parity-concurrency", D + "aws:\n  parity_concurrency: 500\n", 3, "aws.parity_concurrency", "give 1 to 128"),
    ("parity-both-names", D + "aws:\n  parity_sample: 5\n  parity_max_objects: 6\n", 4, "aws.parity_max_objects",
     "'parity_sample' is the old name of 'parity_max_objects'"),
    ("parity-sample-range", D + "aws:\n  parity_sample: 0\n", 3, "aws.parity_sample", "give 1 to 1,000,000"),
    ("domain-dots", "domain: ..\n", 1, "domain", "has an empty label"),
    ("domain-long-label", f"domain: {'a' * 64}.example.com\n", 1, "domain", "is 64 characters; at most 63"),
    ("domain-too-long", "domain: " + ".".join(["abcdefghi"] * 30) + ".com\n", 1, "domain", "at most 253"),
    ("domain-hyphen", "domain: -www.example.com\n", 1, "domain", "starts or ends with '-'"),
    ("domain-underscore", "domain: www.exa_mple.com\n", 1, "domain", "may only hold letters, digits and '-'"),
    ("domain-bad-punycode", "domain: xn--zz.example.com\n", 1, "domain", "is not valid IDNA"),
    ("domain-trailing-dot", "domain: www.example.com.\n", 1, "domain", "without the trailing dot"),
    ("domain-address", "domain: 127.0.0.1\n", 1, "domain", "is an address, not a host name"),
    ("domain-single-label", "domain: localhost\n", 1, "domain", "is not a full host name"),
    ("header-crlf", D + 'headers:\n  X-Test: "a\\r\\nX-Injected: b"\n', 3, "headers.X-Test",
     "the control character '\\r'; values are one line"),
    ("header-nul", D + 'headers:\n  X-Test: "a\\0b"\n', 3, "headers.X-Test", "control character '\\x00'"),
    ("header-name-space", D + "headers:\n  X Bad: 1\n", 3, "headers.X Bad", "is not a header name (an RFC 9110 token"),
    ("header-host", D + "headers:\n  Host: evil.example.com\n", 3, "headers.Host", "Host cannot be set"),
    ("header-content-length", CALL + "      headers: {Content-Length: '5'}\n", 5,
     "api.calls[0].headers.Content-Length", "Content-Length cannot be set"),
    ("header-transfer-encoding", CALL + "      headers:\n        transfer-encoding: chunked\n", 6,
     "api.calls[0].headers.transfer-encoding", "transfer-encoding cannot be set"),
    ("header-connection", D + "headers:\n  Connection: close\n", 3, "headers.Connection", "cannot be set"),
    ("header-case-twice", D + "headers:\n  X-Key: a\n  x-key: b\n", 4, "headers.x-key", "header names ignore case"),
    ("duplicate-section", D + "static:\n  pages: [/]\nstatic:\n  pages: [/a]\n", 4, "static",
     "the key 'static' appears twice (lines 2 and 4); the last would silently win"),
    ("duplicate-nested", D + "timeouts:\n  read: 5\n  read: 50\n", 4, "timeouts.read", "appears twice (lines 3 and 4)"),
    ("duplicate-in-body", CALL + "      json: {a: 1, a: 2}\n", 5, "api.calls[0].json.a", "appears twice"),
    ("tag-python-name", "domain: !!python/name:os.system www.example.com\n", 1, "domain",
     "the tag !!python/name:os.system is not allowed"),
    ("tag-python-object", D + "spa: !!python/object/apply:os.system [echo hi]\n", 2, "spa",
     "the tag !!python/object/apply:os.system is not allowed"),
    ("tag-unknown", D + "spa: !foo {fallback: true}\n", 2, "spa", "the tag !foo is not allowed"),
    ("tag-binary", CALL + "      json: !!binary aGVsbG8=\n", 5, "api.calls[0].json", "the tag !!binary is not allowed"),
    ("merge-key", D + "base: &b {connect: 1}\n", 2, "base", "unknown key 'base'"),
    ("merge-key-in-section", D + "timeouts: {<<: {connect: 1}}\n", 2, "timeouts", "merge keys ('<<') are not supported"),
    ("recursive-alias", CALL + "      json: &a [1, *a]\n", 5, "api.calls[0].json[1]", "recursive alias"),
    ("billion-laughs", LAUGHS, 5, "l4[0]", "aliases expand to more than 10,000 values"),
    ("nested-100", CALL + "      json: " + "[" * 100 + "]" * 100 + "\n", 5, None,
     "key 'api.calls[0].json[0][0][0][0][0][0][0][0][0][0]"),
    ("connect-to-other-host", D + "connect_to: ['api.example.com:443:127.0.0.1:8443']\n", 2, "connect_to[0]",
     "is for host 'api.example.com', not the target's domain 'www.example.com'; it would never be used"),
    ("connect-to-port", D + "connect_to: ['www.example.com:8443:127.0.0.1:8443']\n", 2, "connect_to[0]",
     "PORT 8443 is never dialled"),
    ("connect-to-twice", D + "connect_to:\n  - www.example.com:443:127.0.0.1:1\n  - www.example.com:443:127.0.0.2:2\n",
     4, "connect_to[1]", "a second entry for www.example.com:443"),
    ("path-space", D + "static:\n  assets: ['/a b.js']\n", 3, "static.assets[0]", "contains white space"),
    ("path-fragment", D + "spa:\n  deep_links: ['/app#x']\n", 3, "spa.deep_links[0]", "contains '#'"),
    ("path-newline", D + 'static:\n  pages: ["/a\\nb"]\n', 3, "static.pages[0]", "control character '\\n'"),
    ("path-relative", CALL.replace("/api/x", "api/x"), 4, "api.calls[0].path", "must start with '/'"),
    ("method-typo", CALL + "      method: PSOT\n", 5, "api.calls[0].method", "Did you mean 'POST'?"),
    ("cors-method-typo", D + "cors:\n  methods: [GET, PTU]\n", 3, "cors.methods[1]", "Did you mean 'PUT'?"),
    ("cors-origin-path", D + "cors:\n  allowed_origins: ['https://app.example.com/x']\n", 3, "cors.allowed_origins[0]",
     "is not an origin"),
    ("cors-origin-port", D + "cors:\n  allowed_origins: ['https://app.example.com:70000']\n", 3,
     "cors.allowed_origins[0]", "port 70000 is not 1 to 65535"),
    ("key-typo", D + "timeouts:\n  conect: 5\n", 3, "timeouts.conect", "Did you mean 'connect'?"),
    ("bool-typo", D + "insecure: ture\n", 2, "insecure", "Did you mean 'true'?"),
    ("huge-int", D + "max_body_bytes: " + "9" * 5000 + "\n", 2, "max_body_bytes", "is not a whole number"),
    ("int-tag-on-text", D + "max_connections: !!int abc\n", 2, "max_connections", "'abc' is not a whole number"),
    ("content-type", CALL + "      expect: {content_type: json}\n", 5, "api.calls[0].expect.content_type",
     "is not a media type"),
    ("aws-region", D + "aws:\n  region: mars\n", 3, "aws.region", "is not an AWS region"),
    ("bad-regex", D + "cache:\n  fingerprint_pattern: '('\n", 3, "cache.fingerprint_pattern", "not a valid regular expression"),
    ("key-not-text", D + "[a]: 1\n", 2, None, "a key must be a plain name, not a list"),
    ("long-text", D + "propagation:\n  release_marker: " + "x" * 10_000 + "\n", 3, "propagation.release_marker",
     "the text is 10,000 characters long; at most 8,192"),
    ("yaml-control-char", D + "spa: \x07\n", 2, None, "character #x0007 is not allowed"),
    ("two-documents", D + "---\n" + D, 2, None, "expected a single document"),
    # issue 19: what the run refused, check-target accepted
    ("ca-bundle-missing", D + "ca_bundle: /nonexistent/ca.pem\n", 2, "ca_bundle", "/nonexistent/ca.pem: no such file"),
    ("ca-bundle-folder", D + "ca_bundle: /tmp\n", 2, "ca_bundle", "/tmp: a folder, not a file"),
    ("connect-to-bracketed-name", D + "connect_to: ['www.example.com:443:[zz]:8443']\n", 2, "connect_to[0]",
     "the ADDR [zz] is not an IPv6 address"),
    ("header-empty-variable", D + "headers:\n  X-Token: ${}\n", 3, "headers.X-Token",
     "'${}' is not a variable reference"),
    ("api-call-names-twice", D + "api:\n  calls:\n    - {name: health, path: /api/a}\n"
     "    - {name: health, path: /api/b}\n", 5, "api.calls[1]", "a second call named 'health'"),
]


def write(tmp_path: Path, text: str | bytes, name: str = "target.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize("text, line, key, fragment", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_target_names_file_line_and_key(tmp_path, text, line, key, fragment):
    path = write(tmp_path, text)
    with pytest.raises(TargetError) as info:
        load_target(path)
    message = str(info.value)
    assert message.startswith(f"Target file {path}, line {line}"), message
    if key is not None:
        assert f"key '{key}':" in message, message
    assert fragment in message, message
    assert "\n" not in message and len(message) < 600, message


def test_the_bad_files_cover_the_issue_list():
    assert len(BAD) >= 40


@pytest.mark.parametrize("case", ["header-crlf", "tag-python-name", "billion-laughs", "connect-to-other-host",
                                  "ca-bundle-missing", "connect-to-bracketed-name", "api-call-names-twice"])
def test_check_target_exits_4_with_the_same_message(tmp_path, capsys, case):
    text = next(c[1] for c in BAD if c[0] == case)
    path = write(tmp_path, text)
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert cli.main(["check-target", str(path)]) == 4
    err = capsys.readouterr().err
    assert err == f"edgeverify: {info.value}\n"


def test_check_target_and_pytest_agree(tmp_path):
    path = write(tmp_path, next(c[1] for c in BAD if c[0] == "interval-zero"))
    check = subprocess.run([sys.executable, "-m", "edgeverify.cli", "check-target", str(path)], capture_output=True,
                           text=True, cwd=ROOT, timeout=60)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--target", str(path),
                          str(ROOT / "suites")], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert check.returncode == 4 and run.returncode == 4
    message = check.stderr.removeprefix("edgeverify: ").strip()
    assert "key 'propagation.interval': 0 is out of range" in message
    assert message in run.stderr and "Traceback" not in run.stderr


def test_a_file_over_one_megabyte_is_refused_unread(tmp_path):
    path = write(tmp_path, D + "# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(TargetError, match=r"target.yaml: larger than 1,048,576 bytes"):
        load_target(path)


def test_a_secret_with_a_trailing_newline_is_refused_without_showing_it(tmp_path, monkeypatch):
    monkeypatch.setenv("EV_TEST_SECRET_NL", "hunter2-very-secret\n")
    path = write(tmp_path, D + "headers:\n  Authorization: Bearer ${EV_TEST_SECRET_NL}\n")
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert "key 'headers.Authorization'" in str(info.value) and "trailing newline" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_a_refused_value_taken_from_the_environment_is_shown_as_its_placeholder(tmp_path, monkeypatch):
    monkeypatch.setenv("EV_TEST_PATH_SECRET", "tok en-9f8e7d")
    path = write(tmp_path, CALL.replace("/api/x", "/api/x?key=${EV_TEST_PATH_SECRET}"))
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert "'/api/x?key=${EV_TEST_PATH_SECRET}' contains white space" in str(info.value)
    assert "9f8e7d" not in str(info.value)


def test_values_at_the_edges_of_every_range_load(tmp_path):
    path = write(tmp_path, D + "timeouts: {connect: 0.001, read: 3600, total: 3600, run: 86400}\n"
                               "max_body_bytes: 1024\nmax_connections: 256\n"
                               "propagation: {timeout: 86400, interval: 0.5, max_interval: 3600}\n"
                               "https: {cert_min_days: 0, redirect_statuses: [300, 399], hsts_min_max_age: 0}\n"
                               "static: {compress_min_bytes: 0, compress_max_bytes: 1}\n"
                               "aws: {parity_max_objects: 1000000, parity_concurrency: 128}\n"
                               "api:\n  calls:\n    - {path: /api/x, expect: {status: 100}}\n"
                               "    - {path: /api/y, expect: {status: 599}}\n")
    target = load_target(path)
    assert (target.timeouts.connect, target.timeouts.run, target.max_body_bytes) == (0.001, 86400.0, 1024)
    assert (target.propagation.interval, target.aws.parity_concurrency) == (0.5, 128)
    assert [c.expect.status for c in target.api.calls] == [100, 599]


def test_new_keys_load_with_their_defaults_and_values(tmp_path):
    default = load_target(write(tmp_path, D, "default.yaml"))
    assert default.timeouts.run is None and default.run_deadline_s() == 120.0
    assert default.max_connections == 16 and default.https.post_probe and default.spa.post_root_probe
    assert default.cors is None and default.aws.parity_max_objects == 10_000 and default.aws.parity_concurrency == 16
    target = load_target(write(tmp_path, D + "max_connections: 4\nhttps: {post_probe: false}\n"
                                             "spa: {post_root_probe: false}\ncors: {send_unsafe: true}\n"
                                             "propagation: {timeout: 600}\n"
                                             "aws: {parity_sample: 50, parity_concurrency: 2}\n", "set.yaml"))
    assert target.max_connections == 4 and not target.https.post_probe and not target.spa.post_root_probe
    assert target.cors is not None and target.cors.send_unsafe
    assert target.run_deadline_s() == 720.0
    assert target.aws.parity_max_objects == 50 and target.aws.parity_sample == 50  # the deprecated alias
    target.propagation.timeout = 30  # a --propagation-timeout override moves the derived deadline
    assert target.run_deadline_s() == 150.0
    fixed = load_target(write(tmp_path, D + "timeouts: {run: 300}\n", "fixed.yaml"))
    assert fixed.run_deadline_s() == 300.0


def test_domains_are_normalised_to_lower_case_idna():
    assert normalize_host("WWW.Example.COM") == "www.example.com"
    assert normalize_host("bücher.example") == "xn--bcher-kva.example"
    assert normalize_host("xn--bcher-kva.example") == "xn--bcher-kva.example"
    for bad in ["", "a..b", ".example.com", "exa mple.com", "https://x.com", "a" * 300, "x.-y.com", "under_score.com"]:
        with pytest.raises(ValueError):
            normalize_host(bad)


def test_connect_to_is_checked_against_the_domain():
    assert check_connect_to("WWW.example.com:443:[::1]:8443", "www.example.com") == "www.example.com:443:[::1]:8443"
    assert check_connect_to("www.example.com:80:localhost:8080", "www.example.com") == \
        "www.example.com:80:localhost:8080"
    for bad in ["other.example.com:443:127.0.0.1:1", "www.example.com:444:127.0.0.1:1",
                "www.example.com:443:127.0.0.1:70000", "www.example.com:443:bad_host:1"]:
        with pytest.raises(ValueError):
            check_connect_to(bad, "www.example.com")


def test_unicode_domain_connect_to_matches_after_normalisation(tmp_path):
    target = load_target(write(tmp_path, "domain: bücher.example\nconnect_to: ['BÜCHER.example:443:127.0.0.1:8443']\n"))
    assert target.domain == "xn--bcher-kva.example"
    assert target.connect_to == ["xn--bcher-kva.example:443:127.0.0.1:8443"]


def test_validate_seconds_refuses_nan_inf_and_out_of_range():
    lo, hi = RANGES["propagation.timeout"]
    assert validate_seconds(30, "--propagation-timeout", lo, hi) == 30.0
    assert validate_seconds(0.0, "--propagation-timeout", lo, hi) == 0.0
    for bad, fragment in [(math.nan, "not a finite number"), (math.inf, "not a finite number"),
                          (-1.0, "out of range; give 0 to 86,400 seconds"), (86_401, "out of range"),
                          ("10", "expected a number of seconds"), (True, "expected a number of seconds"),
                          (10 ** 400, "not a finite number")]:
        with pytest.raises(TargetError) as info:
            validate_seconds(bad, "--propagation-timeout", lo, hi)
        assert str(info.value).startswith("--propagation-timeout: ") and fragment in str(info.value)


def test_request_bodies_keep_dates_as_text_and_refuse_nan(tmp_path):
    target = load_target(write(tmp_path, CALL + "      json: {day: 2024-01-02, n: 1.5, ok: true, none: null}\n"))
    assert target.api.calls[0].json == {"day": "2024-01-02", "n": 1.5, "ok": True, "none": None}
    with pytest.raises(TargetError, match=r"key 'api.calls\[0\].json.n': '.nan' is not a finite number"):
        load_target(write(tmp_path, CALL + "      json: {n: .nan}\n", "nan.yaml"))


def test_aliases_within_bounds_still_work(tmp_path):
    target = load_target(write(tmp_path, D + "static:\n  pages: &p [/, /about]\nspa:\n  deep_links: *p\n"))
    assert target.spa.deep_links == ["/", "/about"]


def test_nesting_is_bounded_at_64_levels_aliases_expanded(tmp_path):
    def body(n: int) -> str:  # the call's json nests n lists inside the 4 levels above it
        return CALL + "      json: " + "[" * n + "]" * n + "\n"

    assert load_target(write(tmp_path, body(60), "at.yaml")).api.calls[0].json is not None
    with pytest.raises(TargetError, match=r"line 5, key 'api.calls\[0\].json\[0\][^']*': nested deeper than 64 levels"):
        load_target(write(tmp_path, body(61), "over.yaml"))
    aliased = D + "x: &deep " + "[" * 45 + "]" * 45 + "\napi:\n  calls:\n    - path: /x\n      json: " + "[" * 20 + "*deep" + "]" * 20 + "\n"
    with pytest.raises(TargetError, match=r"nested deeper than 64 levels once the alias \*deep is expanded"):
        load_target(write(tmp_path, aliased, "aliased.yaml"))


@pytest.mark.parametrize("text, line, key, fragment", [
    (D + "browser:\n  redy: '#root'\n", 3, "browser.redy", "Did you mean 'ready'?"),
    (D + "browser:\n  ready_within: 0\n", 3, "browser.ready_within", "give 0.1 to 600 seconds"),
    (D + "browser:\n  ready: '  '\n", 3, "browser.ready", "give one CSS selector"),
], ids=["browser-typo", "browser-ready-within-zero", "browser-ready-empty"])
def test_bad_browser_section(tmp_path, text, line, key, fragment):
    test_bad_target_names_file_line_and_key(tmp_path, text, line, key, fragment)


def test_browser_section_loads():
    target = load_target(ROOT / "targets" / "local-lab.yaml")
    assert target.browser.ready == "#root > *" and target.browser.ready_within == 5


@pytest.mark.parametrize("text, line, key, fragment", [
    (D + "ipv6:\n  addresses: ['127.0.0.1']\n", 3, "ipv6.addresses[0]", "is not an IPv6 address"),
    (D + "ipv6:\n  enable: true\n", 3, "ipv6.enable", "Did you mean 'enabled'?"),
    (D + "budgets:\n  document: {ttfb_p95: 300}\n", 3, "budgets.document.ttfb_p95", "Did you mean 'ttfb_p95_ms'?"),
    (D + "budgets:\n  api: {total_p95_ms: 0}\n", 3, "budgets.api.total_p95_ms", "give 1 to 600,000 ms"),
    (D + "budgets:\n  samples: 1\n", 3, "budgets.samples", "give 3 to 100 requests"),
], ids=["ipv6-not-v6", "ipv6-typo", "budget-typo", "budget-zero", "budget-samples"])
def test_bad_ipv6_and_budgets_sections(tmp_path, text, line, key, fragment):
    test_bad_target_names_file_line_and_key(tmp_path, text, line, key, fragment)


def test_ipv6_and_budgets_load(tmp_path):
    target = load_target(write(tmp_path, D + "ipv6:\n  addresses: ['[2600:9000::1]']\nbudgets:\n  api: {ttfb_p95_ms: 250}\n"))
    assert target.ipv6.addresses == ["2600:9000::1"] and target.ipv6.enabled is None
    assert target.budgets is not None and target.budgets.declared and target.budgets.api.ttfb_p95_ms == 250
    assert load_target(write(tmp_path, D)).budgets is None
