from services.jobs.worker.metrics_dir import use_own_directory

use_own_directory()  # before anything imports prometheus_client

from services.jobs.worker.main import main  # noqa: E402

main()
