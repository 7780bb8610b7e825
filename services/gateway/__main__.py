"""python -m services.gateway: the same app uvicorn serves in devstack and compose, on HOST:PORT."""

import uvicorn

from services.gateway.main import app, settings

# log_config=None keeps the logging configure_from_settings set up; the middleware logs each request.
uvicorn.run(
    app,
    host=settings.host,
    port=settings.port,
    access_log=False,
    log_config=None,
    timeout_graceful_shutdown=int(settings.shutdown_grace_s),
)
