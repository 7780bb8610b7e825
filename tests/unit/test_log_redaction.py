"""Redaction of signed URLs in log lines, as a plain unit test. Every process's log through a whole
generation: tests/integration/test_log_redaction.py."""

from __future__ import annotations

from services.common.logging import redact


def test_signed_url_query_strings_are_redacted():
    url = (
        "http://127.0.0.1:9000/bucket/product-images/b/p.png?versionId=3"
        # botocore leaves the quotes of a signed Content-Disposition unescaped
        '&response-content-disposition=attachment;%20filename%3D"p.png"&X-Amz-Algorithm=AWS4-HMAC-SHA256'
        "&X-Amz-Credential=AKIA%2F20261202%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=" + "ab" * 32
    )

    httpx_line = redact(f'HTTP Request: GET {url} "HTTP/1.1 200 OK"')
    server_line = redact(f'127.0.0.1 - - "GET {url.split(":9000", 1)[1]} HTTP/1.1" 200 -')
    plain = redact("GET http://api/items?page=2&limit=10 and /path?cursor=abc")

    assert (
        httpx_line
        == 'HTTP Request: GET http://127.0.0.1:9000/bucket/product-images/b/p.png?[redacted] "HTTP/1.1 200 OK"'
    )
    assert "Signature" not in server_line and "/bucket/product-images/b/p.png?[redacted]" in server_line
    assert plain == "GET http://api/items?page=2&limit=10 and /path?cursor=abc"  # nothing secret: kept
