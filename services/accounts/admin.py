"""Operators' credits and tiers: python -m services.accounts.admin COMMAND ...

    grant    --email E --credits N --reason TEXT [--by NAME]   add N credits (a ledger row)
    set-tier --email E --tier TIER [--by NAME]                 set the tier (renews it this month)
    show     --email E [--limit N]                             balance, tier and last ledger rows
    renew    [--period YYYY-MM]                                run the monthly renewal now

Calls the AccountsAdmin service on ACCOUNTS_ADDR with INTERNAL_TOKEN and ADMIN_TOKEN, read from
the environment (and .env) like the services read theirs.

Exit status: 0 done; 1 refused by accounts (unknown email, missing or wrong admin token); 2 bad
usage, a value accounts refused, or bad configuration; 3 accounts unreachable.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

import grpc

from services.accounts.admin_servicer import ADMIN_TOKEN_HEADER
from services.accounts.config import AdminSettings
from services.accounts.models import SUBSCRIPTION_TIERS
from services.common.grpc_client import open_blocking_channel
from services.common.settings import load_settings, secret_value
from zapcut.accounts.v1 import accounts_pb2 as pb
from zapcut.accounts.v1 import accounts_pb2_grpc

REFUSED, USAGE, UNREACHABLE = 1, 2, 3


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of credits")
    return value


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m services.accounts.admin", description="Grant credits and set tiers (operators)."
    )
    commands = main.add_subparsers(dest="command", required=True)
    operator = f"operator:{getpass.getuser()}"

    grant = commands.add_parser("grant", help="add credits to a user's balance")
    grant.add_argument("--email", required=True)
    grant.add_argument("--credits", required=True, type=_positive)
    grant.add_argument("--reason", required=True)
    grant.add_argument(
        "--by", default=operator, help=f"who grants, recorded in the ledger (default {operator})"
    )

    tier = commands.add_parser("set-tier", help="set a user's subscription tier")
    tier.add_argument("--email", required=True)
    tier.add_argument("--tier", required=True, choices=SUBSCRIPTION_TIERS)
    tier.add_argument("--by", default=operator)

    show = commands.add_parser("show", help="a user's balance, tier and last ledger rows")
    show.add_argument("--email", required=True)
    show.add_argument("--limit", type=int, default=10)

    renew = commands.add_parser(
        "renew", help="grant the tiers' monthly credits now (once per user and month)"
    )
    renew.add_argument("--period", default="", help="YYYY-MM (default: this month, UTC)")
    return main


def _print_credits(reply: pb.AdminCredits) -> None:
    user, credits = reply.user, reply.credits
    print(
        f"{user.email}: {credits.balance} credits, tier {credits.tier} "
        f"({credits.tier_monthly_credits}/month), {credits.free_videos_remaining} free videos left"
    )
    for row in credits.items:
        when = row.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
        by = f" by {row.granted_by}" if row.granted_by else ""
        print(f"  {when}Z {row.kind:<8} {row.amount:+d} -> {row.balance_after}  {row.reason}{by}")


def run(args: argparse.Namespace, stub: accounts_pb2_grpc.AccountsAdminStub, metadata) -> None:
    if args.command == "grant":
        request = pb.GrantCreditsRequest(
            email=args.email, credits=args.credits, reason=args.reason, granted_by=args.by
        )
        _print_credits(stub.GrantCredits(request, metadata=metadata))
    elif args.command == "set-tier":
        _print_credits(
            stub.SetTier(
                pb.SetTierRequest(email=args.email, tier=args.tier, granted_by=args.by), metadata=metadata
            )
        )
    elif args.command == "show":
        _print_credits(
            stub.GetUserCredits(
                pb.GetUserCreditsRequest(email=args.email, limit=args.limit), metadata=metadata
            )
        )
    else:
        reply = stub.RenewTiers(pb.RenewTiersRequest(period=args.period), metadata=metadata)
        print(f"{reply.period}: renewed {reply.renewed} users")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = load_settings(AdminSettings)
    metadata = ((ADMIN_TOKEN_HEADER, secret_value(settings.admin_token)),)
    channel = open_blocking_channel(
        settings.accounts_addr, secret_value(settings.internal_token), settings.grpc_deadline_s
    )
    try:
        run(args, accounts_pb2_grpc.AccountsAdminStub(channel), metadata)
    except grpc.RpcError as exc:
        code = exc.code() if isinstance(exc, grpc.Call) else None
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            print(f"accounts at {settings.accounts_addr} is unreachable: {exc.details()}", file=sys.stderr)
            return UNREACHABLE
        details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
        print(f"refused ({code.name if code else 'error'}): {details}", file=sys.stderr)
        return USAGE if code == grpc.StatusCode.INVALID_ARGUMENT else REFUSED
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
