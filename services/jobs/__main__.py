from services.jobs.server import main

main()
