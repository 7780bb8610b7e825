"""`make dev` (python -m devstack) and `make migrate` (python -m devstack migrate).

make dev: start Postgres/Redis/S3 for whatever DATABASE_URL / REDIS_URL / AWS_S3_ENDPOINT_URL leaves
unset, migrate, then run the gateway, accounts, media, jobs and WORKERS RQ workers with prefixed
logs, everything on 127.0.0.1 (HOST may open the gateway alone to other interfaces). A process that
dies is restarted (devstack/supervisor.py). Ctrl-C or SIGTERM stops everything it started.
DEV_REPLICAS=2 runs two of each service, two gateways behind the local balancer on PORT
(devstack/balancer.py) and at least two workers.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from devstack.processes import port_is_free
from devstack.stack import PortBusy, Ports, Stack, data_dir, dev_env
from devstack.supervisor import supervise


def say(msg: str) -> None:
    print(f"{'devstack':>9} | {msg}", flush=True)


def run_dev(workers: int, replicas: int = 1) -> int:
    env = dev_env()
    stack = Stack(
        data_dir=data_dir(env),
        ports=Ports.from_env(env),
        env=env,
        workers=max(workers, replicas),
        replicas=replicas,
        notice=say,
    )
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.check_ports(["gateway", "accounts", "media", "jobs", *stack.needed_backing()])
        for name in stack.needed_backing():
            if stop.is_set():
                return 0
            say(f"starting {name} (set {_url_var(name)} to use your own)")
            stack.start_backing_server(name)
        if stop.is_set():
            return 0
        say("migrating accounts, media, jobs")
        stack.migrate()
        if stop.is_set():
            return 0
        say("starting accounts, media, jobs, worker, gateway")
        if replicas > 1:
            for app in ("accounts", "media", "jobs", "gateway"):
                ports = ", ".join(str(p) for p in stack.app_ports(app))
                say(f"{replicas} replicas of {app} on ports {ports}")
            say(f"the balancer on {stack.ports.gateway} spreads connections over the gateways")
        if stack.gateway_host != "127.0.0.1":
            say(f"HOST={stack.gateway_host}: the gateway accepts connections from other machines")
        stack.start_apps()
        say(stack.metrics_line())
        say(
            f"ready: http://localhost:{stack.ports.gateway}/api/health  docs: http://localhost:{stack.ports.gateway}/docs"
        )
        return supervise(stack, stop, say)
    except PortBusy as exc:
        print(exc.code, file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one clear line, then clean up
        say(f"failed to start: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop(on_stop=say)
        say("stopped")


def _url_var(name: str) -> str:
    return {"postgres": "DATABASE_URL", "redis": "REDIS_URL", "s3": "AWS_S3_ENDPOINT_URL"}[name]


def run_migrate(down: str | None) -> int:
    """Migrate DATABASE_URL, or the dev database (started here for the purpose if make dev isn't running)."""
    from alembic import command

    from services.common.migrations import SERVICES, alembic_config, upgrade_head

    env = dev_env()
    stack = Stack(data_dir=data_dir(env), ports=Ports.from_env(env), env=env)
    if not env.get("DATABASE_URL"):
        if port_is_free(stack.ports.postgres):
            stack.start_backing_server("postgres")
        else:
            env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/zapcut_adgen"
    try:
        import os

        os.environ["DATABASE_URL"] = env["DATABASE_URL"]
        for service in SERVICES if down is None else reversed(SERVICES):
            if down is None:
                upgrade_head(service, env["DATABASE_URL"])
                print(f"{service}: upgraded to head")
            else:
                command.downgrade(alembic_config(service), down)
                print(f"{service}: downgraded to {down}")
        return 0
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    sub = parser.add_subparsers(dest="cmd")
    dev = sub.add_parser("dev", help="run the whole stack (default)")
    dev.add_argument("--workers", type=int, default=None, help="RQ workers to run (default WORKERS or 1)")
    mig = sub.add_parser("migrate", help="upgrade every service's schema to head")
    mig.add_argument("--down", metavar="REVISION", help="downgrade instead (for example -1 or base)")
    args = parser.parse_args()
    if args.cmd == "migrate":
        raise SystemExit(run_migrate(args.down))
    env = dev_env()
    workers = getattr(args, "workers", None) or int(env.get("WORKERS", "1"))
    replicas = env.get("DEV_REPLICAS") or "1"
    if not replicas.isdigit() or int(replicas) < 1:
        raise SystemExit("configuration error: DEV_REPLICAS must be a whole number, 1 or more")
    raise SystemExit(run_dev(workers, int(replicas)))


if __name__ == "__main__":
    main()
