"""The on-call console: a FastAPI app with a JSON API under /api and server-rendered pages."""

from twin.api.app import create_app

__all__ = ["create_app"]
