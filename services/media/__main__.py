from services.media.server import main

main()
