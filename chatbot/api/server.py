"""``schaengel serve``: uvicorn with one app, or several workers that each build their own."""

from __future__ import annotations

from chatbot.settings import Settings

FACTORY = "chatbot.api.app:create_app_from_env"


def run(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve until interrupted. Uvicorn's access log and proxy-header rewriting stay off: the
    app logs requests without addresses and decides itself which proxies to trust."""
    import uvicorn

    from chatbot.api.app import create_app
    from chatbot.api.logs import configure_logging

    configure_logging()
    common = {
        "host": host,
        "port": port,
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "log_config": None,
        "timeout_graceful_shutdown": 10,
    }
    if workers > 1:
        # An import string: each worker process imports the factory and reads the environment.
        uvicorn.run(FACTORY, factory=True, workers=workers, **common)  # type: ignore[arg-type]
    else:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
