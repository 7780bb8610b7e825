"""Credits as plain unit tests: the admin token's production checks, the tiers setting, the renewal
periods, and that the gateway has no way to the operators' calls. The ledger itself runs against
Postgres in tests/integration/test_credits.py."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.accounts.config import DEV_ADMIN_TOKEN, AdminSettings, Settings
from services.accounts.ledger import next_period_start, period_of
from services.accounts.tiers import check_period
from services.common.errors import InvalidArgument

ROOT = Path(__file__).resolve().parents[2]
INTERNAL = secrets.token_urlsafe(32)
URLS = {"database_url": "postgresql://u@h/db", "redis_url": "redis://127.0.0.1:1/0"}


def accounts_settings(**values) -> Settings:
    return Settings(_env_file=None, **{"debug": False, "internal_token": INTERNAL, **URLS, **values})


def test_production_refuses_a_weak_admin_token_and_the_internal_one():
    for weak, why in [
        ("x" * 31, "ADMIN_TOKEN is shorter than 32 bytes"),
        (DEV_ADMIN_TOKEN, "ADMIN_TOKEN is a public development default"),
        (INTERNAL, "ADMIN_TOKEN must differ from INTERNAL_TOKEN"),
    ]:
        with pytest.raises(ValidationError, match=why):
            accounts_settings(admin_token=weak)
    strong = secrets.token_urlsafe(32)
    assert accounts_settings(admin_token=strong).admin_token.get_secret_value() == strong
    # Unset (or empty) turns the admin calls off rather than stopping accounts.
    assert accounts_settings().admin_token is None
    assert accounts_settings(admin_token="").admin_token is None


def test_debug_fills_in_the_dev_admin_token_for_accounts_and_the_cli():
    assert accounts_settings(debug=True).admin_token.get_secret_value() == DEV_ADMIN_TOKEN
    cli = AdminSettings(_env_file=None, debug=True)
    assert cli.admin_token.get_secret_value() == DEV_ADMIN_TOKEN
    with pytest.raises(ValidationError, match="ADMIN_TOKEN is required"):
        AdminSettings(_env_file=None, debug=False, internal_token=INTERNAL)


def test_tier_monthly_credits_names_known_tiers_and_no_negative_credits():
    assert accounts_settings().tier_monthly_credits == {"free": 0, "pro": 20, "business": 100}
    assert accounts_settings(tier_monthly_credits={"pro": 5}).tier_monthly_credits == {"pro": 5}
    with pytest.raises(ValidationError, match="unknown tiers"):
        accounts_settings(tier_monthly_credits={"platinum": 5})
    with pytest.raises(ValidationError, match="negative"):
        accounts_settings(tier_monthly_credits={"pro": -1})


def test_a_period_is_the_calendar_month_in_utc():
    assert period_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "2026-12"
    # 00:30 on 1 January at UTC+2 is still December in UTC.
    assert period_of(datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == "2026-12"
    assert next_period_start(datetime(2026, 12, 15, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)
    assert next_period_start(datetime(2026, 2, 28, 23, 59, tzinfo=UTC)) == datetime(2026, 3, 1, tzinfo=UTC)
    assert check_period("2099-01") == "2099-01"
    for bad in ("2099-13", "2099-1", "99-01", "", "2099-01-01"):
        with pytest.raises(InvalidArgument):
            check_period(bad)


def test_the_gateway_has_no_way_to_the_admin_service():
    """The gateway holds INTERNAL_TOKEN; the operators' calls need ADMIN_TOKEN, which no gateway
    code reads or sends, and no gateway code names the AccountsAdmin service."""
    for path in (ROOT / "services" / "gateway").rglob("*.py"):
        source = path.read_text()
        for word in ("AccountsAdmin", "admin_token", "x-admin-token", "GrantCredits", "SetTier"):
            assert word not in source, f"{path.relative_to(ROOT)} names {word}"
