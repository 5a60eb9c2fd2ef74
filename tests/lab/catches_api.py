"""What the api suite must report for each api fault of the lab: fault -> {rule id: text its message contains}."""

CATCHES = {
    "post-not-allowed": {"api.call": "does not allow POST", "api.reaches_origin": "does not allow POST"},
    "api-origin-down": {"api.call": "502", "api.reaches_origin": "CloudFront could not connect to the origin",
                        "api.unknown_route": "CloudFront could not connect to the origin"},
    "api-origin-timeout": {"api.call": "did not answer within CloudFront's origin response timeout"},
    "lambda-edge-error": {"api.call": "the Lambda@Edge function on /api/* failed to run"},
    "waf-blocks-api": {"api.call": "an AWS WAF rule of the web ACL"},
    # a custom response (400, the site's own page): the edge made it, WAF ranked first, not an API fault
    "waf-custom-block-api": {"api.call": "(1) an AWS WAF rule blocked /api/"},
    "apigw-throttled": {"api.call": "API Gateway throttled the request"},
    "apigw-timeout": {"api.call": "API Gateway's integration timeout"},
    "apigw-http-timeout": {"api.call": "the HTTP API's integration did not answer"},
    "api-origin-path-doubled": {"api.call": "Missing Authentication Token"},
    "api-host-forwarded": {"api.call": "AllViewerExceptHostHeader"},
}
