from services.jobs.api.server import main

main()
