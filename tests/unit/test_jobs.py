"""The jobs service's input checks, as plain unit tests: job parameters and the diagnostic job's
bounds. The service, its worker and its reconciler as processes: tests/integration/test_jobs.py."""

from __future__ import annotations

import json

import pytest

from services.common.errors import InvalidArgument
from services.jobs import diagnostic
from services.jobs.create_job import MAX_PARAMS_BYTES, parse_params


def test_params_must_be_a_json_object_jsonb_can_store():
    assert parse_params("") == {}
    assert parse_params(' {"a": [1, {"b": null}]} ') == {"a": [1, {"b": None}]}
    for bad in ("[1]", "3", "{", '{"x": NaN}', '{"x": "a\\u0000b"}', "[" * 5000 + "]" * 5000):
        with pytest.raises(InvalidArgument):
            parse_params(bad)
    with pytest.raises(InvalidArgument, match="at most"):
        parse_params(json.dumps({"x": "a" * MAX_PARAMS_BYTES}))


def test_diagnostic_params_are_bounded():
    assert diagnostic.validate_params({}) == {"payload_kb": 64, "hold_s": 0, "fail_with": None}
    assert diagnostic.validate_params({"hold_s": 1.5, "payload_kb": 0})["hold_s"] == 1.5
    for bad in (
        {"payload_kb": -1},
        {"payload_kb": 1025},
        {"payload_kb": 1.5},
        {"payload_kb": True},
        {"hold_s": 31},
        {"hold_s": "1"},
        {"fail_with": ""},
        {"fail_with": 3},
        {"colour": "red"},
    ):
        with pytest.raises(InvalidArgument):
            diagnostic.validate_params(bad)
