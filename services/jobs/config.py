from pydantic import Field

from services.common.settings import DatabaseConfig, RedisConfig

# A worker is declared lost when its job's heartbeat is older than this many monitoring intervals
# (plus WORKER_LOST_MARGIN_S): one missed beat can be a slow Redis round trip, three cannot.
LOST_AFTER_INTERVALS = 3


class Settings(DatabaseConfig, RedisConfig):
    """Settings of the jobs service and of its RQ workers (both read the same variables).

    From RedisConfig: REDIS_URL (where RQ keeps its queues, registries and job hashes) and
    REDIS_SOCKET_TIMEOUT_S (every Redis command from the service gives up after it, so a dead Redis
    fails CreateJob fast with 503; workers keep RQ's own long timeout for their blocking dequeue).
    """

    # The RQ queue the service enqueues to and the workers listen on.
    rq_queue: str = Field("default", min_length=1)

    # How often the reconciler (inside the jobs service) repairs Postgres/RQ disagreements.
    reconcile_interval_s: float = Field(5.0, gt=0)
    # A pending row older than this with no RQ job behind it is (re-)enqueued; younger rows may
    # still be between CreateJob's commit and its enqueue.
    enqueue_grace_s: float = Field(10.0, ge=0)
    # How often a worker refreshes the heartbeat of the job it runs (RQ's job_monitoring_interval).
    # The service reads it too: it decides when a silent worker counts as dead.
    worker_job_monitoring_interval_s: int = Field(10, ge=1)
    # Slack on top of 3 missed heartbeats before a running job's worker is declared dead.
    worker_lost_margin_s: float = Field(5.0, ge=0)
    # How often a worker runs RQ's maintenance pass, which also restarts its scheduler process if
    # it died (it does when Redis goes away); RQ's 600 s would hold back retries that long.
    worker_maintenance_interval_s: int = Field(60, ge=5)

    # RQ's job_timeout per job type: RQ's default of 180 s fits none of them.
    diagnostic_job_timeout_s: int = Field(60, ge=1)
    # How long a failed RQ job stays inspectable in Redis; the row keeps its error for good.
    rq_failure_ttl_s: int = Field(7 * 24 * 3600, ge=60)

    # Checks of Postgres and Redis inside CheckDependencies give up after this long.
    probe_timeout_s: float = Field(0.8, gt=0)

    @property
    def worker_lost_after_s(self) -> float:
        return LOST_AFTER_INTERVALS * self.worker_job_monitoring_interval_s + self.worker_lost_margin_s
