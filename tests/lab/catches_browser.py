"""What the browser suite must report for each fault only a browser sees (and for two a browser also sees):
fault -> {rule id: text its message contains}. The texts are Chromium's own (Debian's chromium 156)."""

CATCHES = {
    "route-chunk-html": {"browser.subresources": "wrong MIME type",
                         "browser.console": "Failed to load module script",
                         "browser.renders": "did not appear"},
    "csp-blocks-bundle": {"browser.csp": "script-src-elem blocked https://www.example.test/assets/",
                          "browser.renders": "did not appear"},
    "config-relative": {"browser.renders": "uncaught: config config.json: HTTP 403",
                        "browser.subresources": "/settings/config.json (fetch) -> 403",
                        "browser.console": "uncaught"},
    "config-stale": {"browser.console": "config.json is from release build-2026.11.25-old"},
    # deploy skew seen from a tab still on the previous release (also caught over HTTP: propagation.previous_release)
    "previous-release-deleted": {"browser.previous_release": "a tab on the previous release:"},
    # a service worker that keeps open tabs on the release they first cached (and a sw.js cached a year at the edge)
    "sw-stale": {"browser.service_worker": "kept the release before the deploy in 3 navigations"},
    # also caught over HTTP (static.mixed_content): the browser refuses it too
    "mixed-content": {"browser.mixed_content": "insecure: GET http://www.example.test/assets/"},
}
