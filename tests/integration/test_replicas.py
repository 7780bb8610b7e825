"""Replicas and restarts, with real processes: a stack of its own with two of every service, two
gateways behind devstack's balancer and two workers, as `DEV_REPLICAS=2 make dev` runs it.

- Every client (gateways, workers) holds a connection to every replica of every service: the
  channels round-robin over the target that lists them all.
- Steady mixed traffic (reads, writes, multipart uploads, a generation running) while every replica
  of every process is restarted one at a time (SIGTERM, wait for it to exit, start it, wait until
  it serves): not one request fails, and the generation completes.
- A worker SIGKILLed mid-step: the step runs again on the other worker and the generation completes.

Waits are bounded polls; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from functools import partial

import httpx
import psutil
import pytest
from psycopg.rows import dict_row

from devstack.processes import grpc_loopback_target
from services.common.grpc_client import health_status, open_channel
from tests.support.api import new_brand, new_project, new_user, register_database, wait_until
from tests.support.generation import png, ready_project, start, wait_for
from tests.support.stack import INTERNAL_TOKEN, stack_env, start_stack

# A restart of ten processes one at a time outlasts pytest-timeout's 300 s under a full suite's load;
# every wait inside is bounded by its own poll.
pytestmark = pytest.mark.timeout(900)

REPLICAS = 2
GRPC_APPS = ("accounts", "media", "jobs")
# Scenes long enough that a step is still rendering while a test restarts or kills its worker.
LONG_SCENES = [{"order": i, "description": f"scene {i}", "duration_s": 6} for i in (1, 2)]
UPLOADS_PER_BRAND = 40  # a brand holds at most 50 files of a kind
WAIT_S = 180


@pytest.fixture(scope="module")
def replicated(stack_dir):
    """The stack with two of everything; the module's own, so its restarts disturb no other test."""
    stack = start_stack(stack_dir / "replicas", stack_env(), None, replicas=REPLICAS)
    register_database(gateway_url(stack), stack.env["DATABASE_URL"])
    yield stack
    stack.stop()


def gateway_url(stack) -> str:
    return f"http://127.0.0.1:{stack.ports.gateway}"  # the balancer


@pytest.fixture
async def http(replicated):
    async with httpx.AsyncClient(base_url=gateway_url(replicated), timeout=60) as client:
        yield client


# Restarts and re-runs take a while: longer waits, checked less often.
poll = partial(wait_until, timeout_s=WAIT_S, every_s=0.3)


def connections_to(pid: int, port: int) -> int:
    """How many established TCP connections the process (not its children) holds to the port: a
    gateway holds one per channel (its calls' and, on accounts, the revocation stream's)."""
    try:
        connections = psutil.Process(pid).net_connections("tcp")
    except psutil.NoSuchProcess:
        return 0
    return sum(1 for c in connections if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED")


def connected_ports(pid: int) -> set[int]:
    """The remote ports of the process's established TCP connections (its children's too: a worker's
    calls come from its work horses)."""
    ports = set()
    process = psutil.Process(pid)
    for proc in [process, *process.children(recursive=True)]:
        try:
            ports |= {
                c.raddr.port for c in proc.net_connections("tcp") if c.raddr and c.status == "ESTABLISHED"
            }
        except psutil.NoSuchProcess:
            pass
    return ports


async def test_every_gateway_connects_to_every_replica_of_every_service(replicated, http):
    # A few calls of each kind, so every channel has been used; each on a connection of its own, so
    # the balancer hands them to both gateways in turn.
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=http.base_url, limits=limits, timeout=60) as fresh:
        # Three requests a round: with two gateways taking connections in turn, each gets both kinds.
        for path in [f"/api/brands/{brand['id']}", "/api/health", "/api/health"] * 4:
            reply = await fresh.get(path, headers=user["headers"])
            assert reply.status_code == 200, reply.text
    replica_ports = {app: set(replicated.app_ports(app)) for app in GRPC_APPS}
    for gateway in replicated.replica_names("gateway"):
        pid = replicated.apps[gateway].pid

        async def connected_to_all(pid=pid):
            ports = connected_ports(pid)
            return all(expected <= ports for expected in replica_ports.values())

        await poll(
            connected_to_all,
            f"{gateway} to connect to every replica of {replica_ports}: {connected_ports(pid)}",
            timeout_s=30,
        )


@dataclass
class Traffic:
    """Clients sending requests until told to stop, each recording what it got."""

    url: str
    users: list[dict]
    generation_user: dict
    done: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        clients = [
            self._client("reads", self._reads, self.users[0]),
            self._client("writes", self._writes, self.users[1]),
            self._client("uploads", self._uploads, self.users[2]),
            self._client("generation", self._generation, self.generation_user),
        ]
        await asyncio.gather(*clients)

    async def _client(self, kind: str, request, user: dict) -> None:
        self.done[kind] = 0
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as http:
            for n in itertools.count():
                if self.stopping.is_set():
                    return
                try:
                    what, reply, expected = await request(http, user, n)
                except Exception as exc:  # noqa: BLE001 - recorded, and the client goes on
                    self.failures.append(f"{kind} #{n}: {type(exc).__name__}: {exc}")
                else:
                    if reply.status_code != expected:
                        self.failures.append(f"{kind} #{n} {what}: {reply.status_code} {reply.text[:300]}")
                self.done[kind] += 1
                await asyncio.sleep(0.05)

    async def _reads(self, http, user, n):
        path = ("/api/brands", "/api/projects", f"/api/brands/{user['brand']['id']}")[n % 3]
        return f"GET {path}", await http.get(path, headers=user["headers"]), 200

    async def _writes(self, http, user, n):
        if n % 2:
            reply = await http.post("/api/brands", json={"title": f"Brand {n}"}, headers=user["headers"])
            return "POST /api/brands", reply, 201
        path = f"/api/projects/{user['project']['id']}/messages"
        reply = await http.post(
            path, json={"role": "user", "content": f"message {n}"}, headers=user["headers"]
        )
        return f"POST {path}", reply, 201

    async def _uploads(self, http, user, n):
        if n and n % UPLOADS_PER_BRAND == 0:  # a new brand to upload to, a request like the others
            reply = await http.post("/api/brands", json={"title": f"Uploads {n}"}, headers=user["headers"])
            if reply.status_code == 201:
                user["brand"] = reply.json()
            return "POST /api/brands", reply, 201
        path = f"/api/brands/{user['brand']['id']}/files?kind=product_image"
        image = png((n % 255, 100, 150), size=(64, 64))
        reply = await http.post(
            path, files={"file": (f"p{n}.png", image, "image/png")}, headers=user["headers"]
        )
        return f"POST {path}", reply, 201

    async def _generation(self, http, user, n):
        path = f"/api/projects/{user['project']['id']}/generation"
        return f"GET {path}", await http.get(path, headers=user["headers"]), 200

    async def progressed(self) -> None:
        """Every client has completed more requests since this was called."""
        before = dict(self.done)
        try:
            await poll(
                lambda: asyncio.sleep(
                    0,
                    all(
                        self.done.get(k, 0) > before.get(k, 0)
                        for k in ("reads", "writes", "uploads", "generation")
                    ),
                ),
                "every client to complete a request",
            )
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; done {before} -> {self.done}; failures {self.failures[:5]}"
            ) from None


async def wait_serving(stack, name: str) -> None:
    """Until the restarted process serves: a gRPC replica answers SERVING on its own address, a
    gateway answers its health on its own port, a worker is registered with RQ."""
    app = name.partition("-")[0]
    if app in GRPC_APPS:
        channel = open_channel(grpc_loopback_target(stack.listen_port(name)), INTERNAL_TOKEN)
        try:
            await poll(lambda: _serving(channel), f"{name} to serve")
        finally:
            await channel.close()
    elif app == "gateway":
        async with httpx.AsyncClient(timeout=5) as client:

            async def healthy():
                try:
                    reply = await client.get(f"http://127.0.0.1:{stack.listen_port(name)}/api/health")
                except httpx.HTTPError:
                    return False
                return reply.status_code == 200

            await poll(healthy, f"{name} to be healthy")
    else:
        pid = stack.apps[name].pid
        await poll(lambda: asyncio.to_thread(_worker_registered, stack, pid), f"{name} to register")


async def _serving(channel) -> bool:
    return await health_status(channel, 1.0) == "SERVING"


def _worker_registered(stack, pid: int) -> bool:
    import redis
    from rq import Worker

    with redis.Redis.from_url(stack.env["REDIS_URL"]) as connection:
        return any(w.pid == pid for w in Worker.all(connection=connection))


def clients_of(stack, port: int) -> dict[str, int]:
    """The processes holding connections to a replica's port, with how many (not workers: their
    work horses' connections come and go with each job)."""
    held = {
        name: connections_to(proc.pid, port)
        for name, proc in stack.apps.items()
        if proc.running and not name.startswith("worker")
    }
    return {name: count for name, count in held.items() if count}


async def reconnected(stack, clients: dict[str, int], port: int) -> None:
    """Until every client of the replica holds as many connections to it as before: as a rolling
    update waits for a new pod to be ready before it stops the next, so that the other replica is
    not stopped while a client can reach neither. Every channel counts: a gateway whose revocation
    stream is back while its calls' channel still waits to reconnect would fail the next create."""

    async def all_connected():
        return all(connections_to(stack.apps[c].pid, port) >= n for c, n in clients.items())

    await poll(all_connected, f"{clients} to connect to port {port} again")


def restart(stack, name: str) -> None:
    """SIGTERM, wait for the process to exit (it finishes what it is doing), start it again."""
    stack.stop_app(name)
    stack.start_app(name)


async def test_restarting_every_replica_one_at_a_time_under_traffic_fails_no_request(replicated, http):
    users = [await new_user(http) for _ in range(3)]
    for user in users:
        user["brand"] = await new_brand(http, user["headers"])
        user["project"] = await new_project(http, user["headers"], user["brand"]["id"])
    generating = await new_user(http)
    generating["project"] = await ready_project(http, generating, images=1, scenes=LONG_SCENES)
    reply = await start(http, generating, generating["project"]["id"])
    assert reply.status_code == 202, reply.text

    traffic = Traffic(gateway_url(replicated), users, generating)
    running = asyncio.create_task(traffic.run())
    restarted = []
    try:
        await traffic.progressed()
        order = [name for app in (*GRPC_APPS, "worker", "gateway") for name in replicated.replica_names(app)]
        for name in order:
            old_pid = replicated.apps[name].pid
            grpc_port = replicated.listen_port(name) if name.partition("-")[0] in GRPC_APPS else None
            clients = clients_of(replicated, grpc_port) if grpc_port else {}
            await asyncio.to_thread(restart, replicated, name)
            assert replicated.apps[name].pid != old_pid
            await wait_serving(replicated, name)
            if grpc_port:
                await reconnected(replicated, clients, grpc_port)
            restarted.append(name)
            await traffic.progressed()  # the traffic goes on through the restarted replica's peers
    finally:
        traffic.stopping.set()
        await running
    assert len(restarted) == 5 * REPLICAS
    assert traffic.failures == [], "\n".join(traffic.failures[:20])
    assert all(count > 0 for count in traffic.done.values()), traffic.done

    done = await wait_for(
        http, generating, generating["project"]["id"], {"completed", "failed"}, timeout_s=600
    )
    assert done["status"] == "completed", done


def running_steps(db_url: str, generation_id: str) -> dict[str, dict]:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as db, db.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT * FROM jobs.generation_jobs WHERE generation_id = %s AND status = 'processing'",
            (generation_id,),
        ).fetchall()
    return {str(r["id"]): r for r in rows}


def step(db_url: str, step_id) -> dict:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as db, db.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM jobs.generation_jobs WHERE id = %s", (step_id,)).fetchone()


def current_jobs(stack) -> dict[str, str]:
    """Worker process name -> the id of the RQ job (= the step's row id) it runs now."""
    import redis
    from rq import Worker

    names = {
        proc.pid: name for name, proc in stack.apps.items() if name.startswith("worker") and proc.running
    }
    with redis.Redis.from_url(stack.env["REDIS_URL"]) as connection:
        return {
            names[w.pid]: job_id
            for w in Worker.all(connection=connection)
            if w.pid in names and (job_id := w.get_current_job_id())
        }


async def test_a_worker_killed_mid_step_has_the_step_run_again_on_the_other_worker(replicated, http):
    db_url = replicated.env["DATABASE_URL"]
    user = await new_user(http)
    user["project"] = await ready_project(http, user, images=1, scenes=LONG_SCENES)
    reply = await start(http, user, user["project"]["id"], resolution=720)
    assert reply.status_code == 202, reply.text
    generation_id = reply.json()["id"]
    workers = replicated.replica_names("worker")

    # A step rendering, and the worker rendering it.
    async def rendering():
        steps = await asyncio.to_thread(running_steps, db_url, generation_id)
        running_on = await asyncio.to_thread(current_jobs, replicated) if steps else {}
        return next(((steps[job], w) for w, job in running_on.items() if job in steps), None)

    running, killed = await poll(rendering, "a step to be rendering on one worker")
    survivor = next(w for w in workers if w != killed)
    try:
        replicated.kill_app(killed)  # SIGKILL to the worker's group; its horse dies with it

        async def run_again():
            now = await asyncio.to_thread(step, db_url, running["id"])
            return now["worker_losses"] == 1 and now["status"] in ("processing", "completed") and now

        await poll(run_again, "the step to run again")
        # The killed worker is still down: the step can only have run again on the other one.
        assert not replicated.apps[killed].running
        done = await wait_for(http, user, user["project"]["id"], {"completed", "failed"}, timeout_s=600)
        assert done["status"] == "completed", done
        assert replicated.apps[survivor].running
    finally:
        if not replicated.apps[killed].running:
            replicated.start_app(killed)
