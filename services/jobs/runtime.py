"""What jobs run with in one process: the settings, a database engine and a Redis client, and,
made on first use, the blocking client of media and the generation provider chosen
by GENERATION_PROVIDER (the local one loads the rendering libraries, which a diagnostic job never
needs).

Every job type gets it through its JobContext (services.jobs.queue.job_types). A process makes its
runtime once; a forked work horse takes over its parent's (the worker makes it before it forks),
keeping what costs time to make and leaving the parent's sockets alone: the same settings, the same
engine with its pool emptied without closing the parent's connections (SQLAlchemy's recipe for
fork), so the dialect is imported and initialised once per worker rather than once per job (that
was 0.3-0.4 s of every job), the same Redis client (redis-py opens new connections in a new process
by itself); its gRPC channels and provider are made anew, on first use. RQ also runs the failure callback
(services.jobs.worker.tasks.on_job_failure) where it notices a failure: in the worker, or in the
jobs service when the reconciler sweeps abandoned jobs; there only the engine is used.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property

from redis import Redis
from sqlalchemy.engine import Engine

from services.common.db import create_sync_db
from services.common.redis_clients import sync_redis
from services.common.settings import load_settings
from services.jobs.clients import ServiceCalls
from services.jobs.config import Settings
from services.jobs.providers.base import Provider


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    redis: Redis
    pid: int = field(default_factory=os.getpid)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = create_sync_db(
            settings.database_url.get_secret_value(), settings.db_pool_size, settings.db_max_overflow
        )
        return cls(settings, engine, sync_redis(settings))

    @cached_property
    def calls(self) -> ServiceCalls:
        return ServiceCalls(self.settings)

    @cached_property
    def provider(self) -> Provider:
        return make_provider(self.settings, self.redis)

    def for_this_process(self) -> Runtime:
        """The runtime of a process forked from the one that made this (a work horse)."""
        self.engine.dispose(close=False)  # the parent's connections stay the parent's
        return Runtime(self.settings, self.engine, self.redis)

    def close(self) -> None:
        if "calls" in self.__dict__:
            self.calls.close()
        if "provider" in self.__dict__ and hasattr(self.provider, "close"):
            self.provider.close()
        self.engine.dispose()
        self.redis.close()


def make_provider(settings: Settings, redis: Redis) -> Provider:
    if settings.generation_provider == "replicate":
        from services.jobs.providers.replicate import ReplicateProvider
        from services.jobs.replicate_webhooks.mailbox import Mailbox

        return ReplicateProvider(settings, mailbox=Mailbox(redis))
    from services.jobs.providers.local import LocalProvider

    return LocalProvider()


_current: Runtime | None = None
_lock = threading.Lock()


def runtime() -> Runtime:
    """This process's runtime, made on first use; a forked child's from its parent's."""
    global _current
    with _lock:
        if _current is None:
            _current = Runtime.from_settings(load_settings(Settings))
        elif _current.pid != os.getpid():
            _current = _current.for_this_process()
        return _current
