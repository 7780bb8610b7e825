"""The RQ worker process (`python -m services.jobs.worker`) and the functions RQ calls by name.

main: the worker itself; tasks: what RQ runs (a job's row claimed, its handler run, the outcome
written; a LoRA training; the failure callback); scheduler_lock and horse_tempdirs: what a worker
cleans up after killed schedulers and horses.
"""
