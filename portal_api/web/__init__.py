"""Live dashboard for trial assessors and providers: server-rendered pages plus live charts."""

from portal_api.web.routes import router

__all__ = ["router"]
