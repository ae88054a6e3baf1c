"""The HTTP API's composition root: the one place that includes every domain's routers.

It sits above the domains (no domain imports it), so adding a domain's routes never makes one
domain depend on another.
"""
