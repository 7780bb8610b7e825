"""The old dotted path of what RQ runs, for RQ jobs enqueued before it moved to
services.jobs.worker.tasks: a job's Redis hash names its function and its failure callback by path,
and a failed job is requeued as it is. Remove in the release after the move, once no such job can
be left (failed jobs stay RQ_FAILURE_TTL_S, 7 days by default)."""

from services.jobs.worker.tasks import on_job_failure, run_job

__all__ = ["on_job_failure", "run_job"]
