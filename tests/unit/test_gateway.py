"""The gateway's own pure logic: how deep a JSON body nests (services.gateway.middleware)."""

from services.gateway.middleware import json_depth_exceeds


def test_json_depth_counts_brackets_outside_strings_only():
    assert not json_depth_exceeds(b'{"a": "[[[[{{{{", "b": "\\"[[[["}', 1)
    assert json_depth_exceeds(b'{"a": [1]}', 1)
    assert not json_depth_exceeds(b'{"a": [1]}', 2)
    assert not json_depth_exceeds(b"[]" * 1000, 1)
    assert json_depth_exceeds(b"[" * 10**6, 32)  # stops early; the body need not be valid
