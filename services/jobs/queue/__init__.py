"""Jobs and their RQ queue, used by both processes: job_types (the one registry of job types),
rq_jobs (enqueueing and RQ's view of a job), worker_losses (a lost worker means a re-run),
job_records and create_job (generation_jobs rows, CreateJob; the jobs service), diagnostic (the
diagnostic job type)."""
