"""The catalog's HTTP routes, one router per resource (handle_api.py in functions/videos includes them)."""

from functions.catalog.handlers.routes import browse, episodes, titles

ROUTERS = (titles.router, episodes.router, browse.router)
