from services.jobs.worker.main import main

main()
