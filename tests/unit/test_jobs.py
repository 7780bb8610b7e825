"""The jobs service's input checks and its one registry of job types, as plain unit tests: job
parameters, the diagnostic job's bounds, each job type's handler and timeout. The service, its
worker and its reconciler as processes: tests/integration/test_jobs.py."""

from __future__ import annotations

import json

import pytest
from rq.utils import import_attribute

from services.common.errors import InvalidArgument
from services.jobs.config import Settings
from services.jobs.models import JOB_TYPES as JOB_TYPE_COLUMN_VALUES
from services.jobs.queue import diagnostic, job_types, rq_jobs
from services.jobs.queue.create_job import MAX_PARAMS_BYTES, parse_params
from services.jobs.worker import tasks


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


def settings_for_timeouts(**values) -> Settings:
    return Settings(
        _env_file=None, debug=True, database_url="postgresql://u@h/db", redis_url="redis://h:1/0", **values
    )


def test_one_registry_names_a_handler_and_a_timeout_from_settings_for_every_job_type():
    job_types.load_all()  # every dotted path the registry names imports
    assert set(job_types.JOB_TYPES) == {*JOB_TYPE_COLUMN_VALUES, job_types.LORA_TRAINING}
    assert [name for name, kind in job_types.JOB_TYPES.items() if kind.creatable] == ["diagnostic"]
    settings = settings_for_timeouts(
        diagnostic_job_timeout_s=61, generation_step_timeout_s=1801, lora_training_timeout_s=14401
    )
    assert {name: job_types.job_timeout_s(settings, name) for name in job_types.JOB_TYPES} == {
        "diagnostic": 61,
        "scene": 1801,
        "voiceover": 1801,
        "music": 1801,
        "composite": 1801,
        "lora_training": 14401,
    }


def test_what_rq_runs_resolves_by_name_also_at_the_path_of_jobs_enqueued_before_the_move():
    assert import_attribute(rq_jobs.RUN_JOB) is tasks.run_job
    assert import_attribute(rq_jobs.ON_FAILURE) is tasks.on_job_failure
    assert import_attribute(rq_jobs.RUN_LORA_TRAINING) is tasks.run_lora_training
    assert import_attribute("services.jobs.tasks.run_job") is tasks.run_job
    assert import_attribute("services.jobs.tasks.on_job_failure") is tasks.on_job_failure
