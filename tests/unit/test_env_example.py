"""`.env.example` documents every variable the code reads, and nothing else.

Settings come from the pydantic-settings classes in services/common/settings.py and every
services/*/config.py; devstack adds its own (ports, WORKERS, HOST, DEV_DATA_DIR); docker-compose.yml interpolates
a few of its own. Every line of the file ships commented out, so copying it to .env changes nothing
(an empty `INTERNAL_TOKEN=` would otherwise count as a value).
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from datetime import timedelta

import pytest
from pydantic import TypeAdapter
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from devstack.stack import ROOT, Ports
from tests.support.compose import compose_variables

ENV_EXAMPLE = ROOT / ".env.example"

DEVSTACK_VARIABLES = {*Ports.VARIABLES.values(), "WORKERS", "HOST", "DEV_DATA_DIR", "DEV_REPLICAS"}
# Provider tokens that arrive with their providers; documented ahead of the code that reads them.
PLANNED_VARIABLES = {"REPLICATE_API_TOKEN"}
# Read by the OpenTelemetry SDK itself (services/common/telemetry.py), not by our settings classes.
OPENTELEMETRY_VARIABLES = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    "OTEL_TRACES_SAMPLER",
}

VARIABLE_LINE = re.compile(r"^(?P<commented>#\s?)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def settings_classes() -> list[type[BaseSettings]]:
    modules = ["services.common.settings"] + [
        f"services.{path.parent.name}.config" for path in sorted((ROOT / "services").glob("*/config.py"))
    ]
    found = []
    for name in modules:
        module = importlib.import_module(name)
        found += [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, BaseSettings) and obj.__module__ == name
        ]
    return found


def settings_fields() -> dict[str, list]:
    """Variable name -> the defaults the classes that read it declare."""
    fields: dict[str, list] = {}
    for cls in settings_classes():
        for name, info in cls.model_fields.items():
            variable = (info.validation_alias if isinstance(info.validation_alias, str) else name).upper()
            fields.setdefault(variable, []).append(info.default)
    return fields


def example_lines() -> list[str]:
    return ENV_EXAMPLE.read_text().splitlines()


def documented() -> dict[str, str]:
    """Variable -> the value shown for it in .env.example."""
    return {m["name"]: m["value"] for line in example_lines() if (m := VARIABLE_LINE.match(line))}


def test_settings_classes_are_found():
    names = {f"{cls.__module__}.{cls.__name__}" for cls in settings_classes()}
    assert {"services.common.settings.BaseConfig", "services.accounts.config.Settings"} <= names


def test_every_setting_is_in_env_example():
    missing = sorted(set(settings_fields()) - set(documented()))
    assert not missing, f"add to .env.example: {', '.join(missing)}"


def test_every_devstack_and_compose_variable_is_in_env_example():
    missing = sorted((DEVSTACK_VARIABLES | compose_variables()) - set(documented()))
    assert not missing, f"add to .env.example: {', '.join(missing)}"


def test_every_variable_in_env_example_is_read_somewhere():
    known = (
        set(settings_fields())
        | DEVSTACK_VARIABLES
        | compose_variables()
        | PLANNED_VARIABLES
        | OPENTELEMETRY_VARIABLES
    )
    unknown = sorted(set(documented()) - known)
    assert not unknown, f"nothing reads these, remove them from .env.example: {', '.join(unknown)}"


def test_every_line_is_blank_a_comment_or_a_commented_variable():
    for number, line in enumerate(example_lines(), 1):
        if not line.strip():
            continue
        assert line.startswith("#"), f".env.example:{number} is not commented out: {line!r}"


def test_every_variable_has_a_description_above_it():
    lines = example_lines()
    for number, line in enumerate(lines, 1):
        if not VARIABLE_LINE.match(line):
            continue
        above = number - 2
        while above >= 0 and VARIABLE_LINE.match(lines[above]):
            above -= 1  # a group of variables shares one description
        assert above >= 0 and lines[above].startswith("#") and lines[above].strip("# -"), (
            f".env.example:{number}: describe {line!r} in a comment right above it"
        )


def test_each_variable_is_listed_once():
    names = [m["name"] for line in example_lines() if (m := VARIABLE_LINE.match(line))]
    assert sorted(names) == sorted(set(names))


def _same(shown: str, default) -> bool:
    if isinstance(default, timedelta):
        return TypeAdapter(timedelta).validate_python(shown) == default
    if isinstance(default, bool):
        return shown.lower() == str(default).lower()
    if isinstance(default, int | float):
        return float(shown) == float(default)
    if isinstance(default, list):
        return [part.strip() for part in shown.split(",")] == default
    if isinstance(default, dict):
        return json.loads(shown) == default
    return shown == str(default)


def _comparable_defaults() -> dict[str, object]:
    """Variables whose classes agree on one concrete default (PROBE_TIMEOUT_S, say, does not)."""
    found = {}
    for variable, defaults in settings_fields().items():
        if len({repr(d) for d in defaults}) == 1 and defaults[0] not in (None, PydanticUndefined):
            found[variable] = defaults[0]
    return found


@pytest.mark.parametrize("variable", sorted(_comparable_defaults()))
def test_shown_value_is_the_default(variable):
    default = _comparable_defaults()[variable]
    shown = documented().get(variable)
    assert shown is not None, f"add {variable} to .env.example"
    assert _same(shown, default), (
        f"{variable}: .env.example shows {shown!r}, the code's default is {default!r}"
    )
