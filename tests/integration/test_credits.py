"""Credits: the ledger in accounts, GET /api/auth/me/credits, the operators' admin CLI and gRPC
service, and the tiers' monthly renewal, against the real stack.

Grants go through `python -m services.accounts.admin` run as a subprocess (as an operator runs it)
or through AccountsAdmin with the admin token; charges through ChargeGeneration and real
generations; refunds through generation.settled events relayed from jobs' outbox to accounts'
consumer. After every mix, each user's ledger sums to their balance.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import grpc
import pytest

from services.common.context import USER_ID_HEADER
from tests.support.api import new_user, wait_until
from tests.support.generation import me, ready_project, start, wait_for
from tests.support.stack import ADMIN_TOKEN
from zapcut.accounts.v1 import accounts_pb2 as pb
from zapcut.accounts.v1 import accounts_pb2_grpc

ADMIN_TOKEN_HEADER = "x-admin-token"  # noqa: S105 - a header name
ADMIN = ((ADMIN_TOKEN_HEADER, ADMIN_TOKEN),)
THIS_PERIOD = datetime.now(UTC).strftime("%Y-%m")


@pytest.fixture
async def admin_stub(grpc_channel):
    channel = grpc_channel("accounts")
    await asyncio.wait_for(channel.channel_ready(), 60)
    return accounts_pb2_grpc.AccountsAdminStub(channel)


def admin_cli(stack, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """python -m services.accounts.admin, configured from the environment as an operator's shell
    would be: ACCOUNTS_ADDR, INTERNAL_TOKEN and ADMIN_TOKEN of the test stack."""
    environment = {
        **os.environ,
        **stack.app_env(),
        "ACCOUNTS_ADDR": stack.grpc_address("accounts"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "services.accounts.admin", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ledger_and_balance(db, user_id: str) -> tuple[int, int, int]:
    """(sum of the user's ledger, users.credits, balance_after of the newest row)."""
    total, rows = db.execute(
        "SELECT coalesce(sum(amount), 0)::int, count(*)::int FROM accounts.credit_ledger WHERE user_id = %s",
        (user_id,),
    ).fetchone()
    (balance,) = db.execute("SELECT credits FROM accounts.users WHERE id = %s", (user_id,)).fetchone()
    newest = db.execute(
        "SELECT balance_after FROM accounts.credit_ledger WHERE user_id = %s ORDER BY created_at DESC, id DESC"
        " LIMIT 1",
        (user_id,),
    ).fetchone()
    return total, balance, newest[0] if newest else 0


async def credits(http, user, **params) -> dict:
    reply = await http.get("/api/auth/me/credits", params=params, headers=user["headers"])
    assert reply.status_code == 200, reply.text
    return reply.json()


async def charge(accounts_stub, user: dict, generation_id: str | None = None) -> pb.ChargeResult:
    return await accounts_stub.ChargeGeneration(
        pb.GenerationCharge(generation_id=generation_id or str(uuid.uuid4())),
        metadata=((USER_ID_HEADER, user["id"]),),
    )


def settle_failed(db, user: dict, generation_id: str) -> None:
    """A generation.settled event owing the charge back, written to jobs' outbox as jobs writes it;
    jobs' relay publishes it and accounts' consumer applies it."""
    payload = {
        "generation_id": generation_id,
        "user_id": user["id"],
        "project_id": str(uuid.uuid4()),
        "status": "failed",
        "refund": True,
    }
    db.execute(
        "INSERT INTO jobs.outbox (event_type, aggregate_id, payload) VALUES ('generation.settled', %s, %s)",
        (generation_id, json.dumps(payload)),
    )


async def test_a_user_out_of_credits_gets_402_and_generates_again_after_a_grant(http, stack, db):
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    db.execute("UPDATE accounts.users SET free_videos_used = 3 WHERE id = %s", (user["id"],))
    reply = await start(http, user, project["id"])
    assert reply.status_code == 402, reply.text

    granted = admin_cli(
        stack,
        "grant",
        "--email",
        user["email"].upper(),
        "--credits",
        "2",
        "--reason",
        "support ticket 42",
        "--by",
        "ops:alice",
    )
    assert granted.returncode == 0, granted.stderr
    assert f"{user['email']}: 2 credits" in granted.stdout

    reply = await start(http, user, project["id"])
    assert reply.status_code == 202, reply.text
    assert reply.json()["charge"] == "credit"
    await wait_for(http, user, project["id"], {"completed", "failed"})

    page = await credits(http, user)
    assert (page["balance"], page["tier"], page["free_videos_remaining"]) == (1, "free", 0)
    charged, grant = page["items"]
    assert (charged["kind"], charged["amount"], charged["balance_after"]) == ("charge", -1, 1)
    assert charged["generation_id"] == reply.json()["id"]
    assert (grant["kind"], grant["amount"], grant["reason"], grant["granted_by"]) == (
        "grant", 2, "support ticket 42", "ops:alice",
    )  # fmt: skip
    assert page["next_cursor"] is None
    assert ledger_and_balance(db, user["id"]) == (1, 1, 1)

    shown = admin_cli(stack, "show", "--email", user["email"])
    assert shown.returncode == 0, shown.stderr
    assert "1 credits, tier free" in shown.stdout and "support ticket 42 by ops:alice" in shown.stdout


async def test_the_admin_cli_says_what_is_wrong_with_its_exit_status(http, stack, db):
    user = await new_user(http)
    unknown = admin_cli(
        stack, "grant", "--email", "nobody-" + user["email"], "--credits", "1", "--reason", "x"
    )
    assert unknown.returncode == 1 and "no user has this email" in unknown.stderr
    for bad in (["--credits", "0"], ["--credits", "-3"], ["--credits", "many"]):
        refused = admin_cli(stack, "grant", "--email", user["email"], *bad, "--reason", "x")
        assert refused.returncode == 2 and "credits" in refused.stderr, refused.stderr
    blank = admin_cli(stack, "grant", "--email", user["email"], "--credits", "1", "--reason", "  ")
    assert blank.returncode == 2 and "reason" in blank.stderr
    tier = admin_cli(stack, "set-tier", "--email", user["email"], "--tier", "platinum")
    assert tier.returncode == 2 and "invalid choice" in tier.stderr
    wrong = admin_cli(
        stack, "grant", "--email", user["email"], "--credits", "1", "--reason", "x",
        env={"ADMIN_TOKEN": "x" * 43},
    )  # fmt: skip
    assert wrong.returncode == 1 and "PERMISSION_DENIED" in wrong.stderr
    gone = admin_cli(
        stack, "show", "--email", user["email"], env={"ACCOUNTS_ADDR": "127.0.0.1:9", "GRPC_DEADLINE_S": "2"}
    )
    assert gone.returncode == 3 and "unreachable" in gone.stderr
    assert (await me(http, user))["credits"] == 0

    db.execute("UPDATE accounts.users SET credits = 2147483000 WHERE id = %s", (user["id"],))
    too_many = admin_cli(stack, "grant", "--email", user["email"], "--credits", "1000", "--reason", "x")
    assert too_many.returncode == 2 and "balance would exceed" in too_many.stderr, too_many.stderr
    assert (await me(http, user))["credits"] == 2147483000


async def test_the_gateways_credentials_cannot_call_the_admin_service(http, admin_stub):
    """The gateway holds the internal token (which the channel adds to every call) but no admin
    token: as the gateway, or with a made-up admin token, every admin call is refused."""
    user = await new_user(http)
    calls = [
        lambda md: admin_stub.GrantCredits(
            pb.GrantCreditsRequest(email=user["email"], credits=5, reason="x", granted_by="gateway"),
            metadata=md,
        ),
        lambda md: admin_stub.SetTier(pb.SetTierRequest(email=user["email"], tier="business"), metadata=md),
        lambda md: admin_stub.GetUserCredits(pb.GetUserCreditsRequest(email=user["email"]), metadata=md),
        lambda md: admin_stub.RenewTiers(pb.RenewTiersRequest(), metadata=md),
    ]
    for call in calls:
        for metadata in ((), ((ADMIN_TOKEN_HEADER, ADMIN_TOKEN[:-1] + "?"),)):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(metadata)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await credits(http, user))["balance"] == 0
    assert (await me(http, user))["subscription_tier"] == "free"
    # And no route of the gateway reaches it.
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if "admin" in p or "grant" in p or "tier" in p]


async def test_the_history_pages_newest_first_with_limit_and_cursor(http, admin_stub):
    user = await new_user(http)
    for n in range(1, 6):
        request = pb.GrantCreditsRequest(
            email=user["email"], credits=n, reason=f"grant {n}", granted_by="ops:test"
        )
        await admin_stub.GrantCredits(request, metadata=ADMIN)

    seen, cursor = [], None
    while True:
        page = await credits(http, user, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["balance"] == 15 and len(page["items"]) <= 2
        seen += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert [row["reason"] for row in seen] == [f"grant {n}" for n in range(5, 0, -1)]
    assert [row["balance_after"] for row in seen] == [15, 10, 6, 3, 1]
    assert len({row["id"] for row in seen}) == 5

    for params in ({"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}):
        reply = await http.get("/api/auth/me/credits", params=params, headers=user["headers"])
        assert reply.status_code == 422, (params, reply.text)
    assert (await http.get("/api/auth/me/credits")).status_code == 401


async def test_charges_and_refunds_are_ledger_rows_once_each(http, db, accounts_stub):
    """A charge retried and a refund redelivered are each one row: the unique (generation, kind)."""
    user = await new_user(http)
    db.execute("UPDATE accounts.users SET free_videos_used = 2 WHERE id = %s", (user["id"],))
    free, paid = str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(2):
        assert (await charge(accounts_stub, user, free)).kind == "free_video"
    with pytest.raises(grpc.aio.AioRpcError) as broke:
        await charge(accounts_stub, user, paid)
    assert broke.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    settle_failed(db, user, free)
    settle_failed(db, user, free)  # redelivered: a second event for the same generation

    async def given_back():
        return (await credits(http, user))["free_videos_remaining"] == 1

    await wait_until(given_back, "the free video given back")
    # Now one free video is left again: the paid generation takes it.
    assert (await charge(accounts_stub, user, paid)).kind == "free_video"
    rows = db.execute(
        "SELECT generation_id::text, kind, amount, free_videos FROM accounts.credit_ledger WHERE user_id = %s"
        " ORDER BY created_at",
        (user["id"],),
    ).fetchall()
    assert rows == [(free, "charge", 0, 1), (free, "refund", 0, -1), (paid, "charge", 0, 1)]
    assert (await me(http, user))["free_videos_used"] == 3


async def test_the_ledger_sums_to_the_balance_after_concurrent_grants_charges_refunds_and_renewals(
    http, db, accounts_stub, admin_stub
):
    users = [await new_user(http) for _ in range(3)]
    for user in users:
        db.execute("UPDATE accounts.users SET free_videos_used = 3 WHERE id = %s", (user["id"],))
    await admin_stub.SetTier(pb.SetTierRequest(email=users[0]["email"], tier="pro"), metadata=ADMIN)

    async def grant(user, n):
        request = pb.GrantCreditsRequest(email=user["email"], credits=n, reason="load", granted_by="ops:test")
        await admin_stub.GrantCredits(request, metadata=ADMIN)

    async def charge_or_402(user, generation_id):
        try:
            await charge(accounts_stub, user, generation_id)
            return generation_id
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION
            return None

    generations = {user["id"]: [str(uuid.uuid4()) for _ in range(8)] for user in users}
    work = [grant(user, n) for user in users for n in (1, 2, 3)]
    work += [charge_or_402(user, g) for user in users for g in generations[user["id"]]]
    work += [charge_or_402(users[1], generations[users[1]["id"]][0]) for _ in range(3)]  # retries
    work += [admin_stub.RenewTiers(pb.RenewTiersRequest(period="2031-07"), metadata=ADMIN) for _ in range(3)]
    outcomes = await asyncio.gather(*work)
    charged = [g for g in outcomes if isinstance(g, str)]
    assert charged, "some charges must have found credits"

    for user in users:
        for generation_id in generations[user["id"]][:3]:
            if generation_id in charged:
                settle_failed(db, user, generation_id)
                settle_failed(db, user, generation_id)
    owed = {g for user in users for g in generations[user["id"]][:3] if g in charged}

    async def refunded():
        (count,) = db.execute(
            "SELECT count(*) FROM accounts.credit_ledger WHERE kind = 'refund' AND generation_id = ANY(%s)",
            ([uuid.UUID(g) for g in owed],),
        ).fetchone()
        return count == len(owed)

    await wait_until(refunded, "the refunds")
    for user in users:
        total, balance, newest = ledger_and_balance(db, user["id"])
        assert total == balance == newest, user
        charges = db.execute(
            "SELECT count(*) FROM accounts.credit_ledger WHERE user_id = %s AND kind = 'charge'",
            (user["id"],),
        ).fetchone()[0]
        renewals = 2 if user is users[0] else 0  # this month at SetTier, and 2031-07 once
        grants = 6
        refunds = len([g for g in generations[user["id"]][:3] if g in owed])
        assert balance == grants + 20 * renewals - charges + refunds
    # The per-row balances walk from one to the next: each row's balance_after is the previous plus its amount.
    for user in users:
        rows = db.execute(
            "SELECT amount, balance_after FROM accounts.credit_ledger WHERE user_id = %s ORDER BY created_at, id",
            (user["id"],),
        ).fetchall()
        running = 0
        for amount, after in rows:
            running += amount
            assert after == running


async def test_tier_renewal_grants_once_per_user_and_period(http, db, stack, admin_stub):
    pro, business, free = [await new_user(http) for _ in range(3)]
    set_pro = admin_cli(stack, "set-tier", "--email", pro["email"], "--tier", "pro")
    assert set_pro.returncode == 0, set_pro.stderr
    await admin_stub.SetTier(pb.SetTierRequest(email=business["email"], tier="business"), metadata=ADMIN)
    # Each was renewed for this month when its tier was set.
    assert (await credits(http, pro))["balance"] == 20
    assert (await credits(http, business))["balance"] == 100

    # This month again, twice at once and once more from the CLI: nobody is granted twice.
    again = await asyncio.gather(
        *(admin_stub.RenewTiers(pb.RenewTiersRequest(period=THIS_PERIOD), metadata=ADMIN) for _ in range(2))
    )
    assert all(reply.period == THIS_PERIOD for reply in again)
    cli = admin_cli(stack, "renew", "--period", THIS_PERIOD)
    assert cli.returncode == 0 and f"{THIS_PERIOD}: renewed 0 users" in cli.stdout, cli.stdout + cli.stderr

    # A later period, by three runners at once: one grant per user.
    later = await asyncio.gather(
        *(admin_stub.RenewTiers(pb.RenewTiersRequest(period="2099-01"), metadata=ADMIN) for _ in range(3))
    )
    assert sum(reply.renewed for reply in later) >= 2  # ours, and maybe paying users of other tests
    page = await credits(http, pro)
    assert page["balance"] == 40 and page["tier_monthly_credits"] == 20 and page["next_renewal_at"]
    assert [(r["kind"], r["period"], r["granted_by"]) for r in page["items"]] == [
        ("renewal", "2099-01", "system:tier-renewal"),
        ("renewal", THIS_PERIOD, "system:tier-renewal"),
    ]
    assert (await credits(http, business))["balance"] == 200
    free_page = await credits(http, free)
    assert (free_page["balance"], free_page["items"], free_page["next_renewal_at"]) == (0, [], None)

    # A tier changed mid-period: the renewal already granted this period stays; the new tier's
    # credits come with the next period.
    await admin_stub.SetTier(pb.SetTierRequest(email=pro["email"], tier="business"), metadata=ADMIN)
    assert (await credits(http, pro))["balance"] == 40
    await admin_stub.RenewTiers(pb.RenewTiersRequest(period="2099-02"), metadata=ADMIN)
    assert (await credits(http, pro))["balance"] == 140
    assert ledger_and_balance(db, pro["id"]) == (140, 140, 140)

    bad = admin_cli(stack, "renew", "--period", "2099-13")
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
