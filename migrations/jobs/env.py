from services.common.migrations import run_env
from services.jobs.models import SCHEMA, Base

run_env(SCHEMA, Base.metadata)
