"""The target's origins section (security.origin_direct) and connect_to for the origins' names: validated at their
line, with a did-you-mean; `edgeverify check-target` exits 4 on them, without a traceback."""

import pytest

from edgeverify import cli
from edgeverify.errors import TargetError
from edgeverify.target import load_target

LAB = ("  bucket: https://lab-site.s3.us-east-1.amazonaws.com/\n"
       "  website: http://lab-site.s3-website-us-east-1.amazonaws.com\n"
       "  api: https://lab0api.execute-api.us-east-1.amazonaws.com/prod\n")


def target(tmp_path, section, extra=""):
    path = tmp_path / "t.yaml"
    path.write_text("domain: www.example.com\n" + extra + "origins:\n" + section)
    return path


def test_origins_load_normalised(tmp_path):
    t = load_target(target(tmp_path, LAB))
    assert t.origins.named() == [("bucket", "https://lab-site.s3.us-east-1.amazonaws.com"),
                                 ("website", "http://lab-site.s3-website-us-east-1.amazonaws.com"),
                                 ("api", "https://lab0api.execute-api.us-east-1.amazonaws.com/prod")]
    assert load_target(target(tmp_path, "  bucket: https://S3.EU-WEST-1.amazonaws.com/my-bucket\n")).origins.bucket == \
        "https://s3.eu-west-1.amazonaws.com/my-bucket"  # path-style
    assert load_target(target(tmp_path, "  website: null\n")).origins.named() == []


@pytest.mark.parametrize(("section", "said"), [
    ("  buckets: https://b.s3.amazonaws.com\n", "line 3, key 'origins.buckets': unknown key 'buckets'. Did you mean 'bucket'?"),
    ("  bucket: http://b.s3-website-us-east-1.amazonaws.com\n",
     "line 3, key 'origins.bucket': 'http://b.s3-website-us-east-1.amazonaws.com' is not an S3 REST endpoint URL like "
     "https://BUCKET.s3.REGION.amazonaws.com. b.s3-website-us-east-1.amazonaws.com is an S3 website endpoint: "
     "did you mean origins.website?"),
    ("  website: https://b.s3-website-us-east-1.amazonaws.com\n", "S3 website endpoints answer plain HTTP only; write "
                                                                  "http://b.s3-website-us-east-1.amazonaws.com."),
    ("  api: http://x1.execute-api.us-east-1.amazonaws.com/prod\n",
     "key 'origins.api': 'http://x1.execute-api.us-east-1.amazonaws.com/prod': execute-api answers HTTPS only"),
    ("  api: https://api.example.com/prod\n", "is not an execute-api endpoint URL like "
                                              "https://ID.execute-api.REGION.amazonaws.com/STAGE."),
    ("  api: https://x1.execute-api.us-east-1.amazonaws.com:8443/prod\n", "(no port, query or fragment)"),
    ("  bucket: https://b.s3.amazonaws.com/?list-type=2\n", "(no port, query or fragment)"),
    ("  bucket: [https://b.s3.amazonaws.com]\n", "line 3, key 'origins.bucket': expected text, got a list"),
    ("  api: https://b.s3.amazonaws.com\n", "b.s3.amazonaws.com is an S3 REST endpoint: did you mean origins.bucket?"),
])
def test_bad_origins_name_file_line_key_and_exit_4(tmp_path, capsys, section, said):
    path = target(tmp_path, section)
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert said in str(info.value) and "t.yaml" in str(info.value)
    assert cli.main(["check-target", str(path)]) == 4
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


def test_connect_to_may_map_the_origin_endpoints_but_no_other_host(tmp_path):
    mapped = ("connect_to: [www.example.com:443:127.0.0.1:8443, lab-site.s3.us-east-1.amazonaws.com:443:127.0.0.1:8443,"
              " lab-site.s3-website-us-east-1.amazonaws.com:80:127.0.0.1:8080]\n")
    assert len(load_target(target(tmp_path, LAB, mapped)).connect_to) == 3
    with pytest.raises(TargetError) as info:
        load_target(target(tmp_path, LAB, "connect_to: [cdn.example.org:443:127.0.0.1:8443]\n"))
    assert "key 'connect_to[0]'" in str(info.value) and "only S3 and execute-api origin endpoints are dialled" in str(info.value)
