"""The catalog's HTTP routes, one router per resource (functions/api/handle_api.py includes them)."""

from functions.catalog.handlers.routes import browse, episodes, titles

ROUTERS = (titles.router, episodes.router, browse.router)
