"""The human-facing pages (the landing page for now; the flows come with their issues)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

_LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Hirondelle directory</title></head>
<body><main>
<h1>Hirondelle</h1>
<p lang="en">A directory of where people went when they left X: their new Mastodon,
fediverse and Bluesky accounts, listed with their consent.</p>
<p lang="fr">Un annuaire des nouveaux comptes (Mastodon, fédivers, Bluesky) des personnes
qui ont quitté X, publiés avec leur consentement.</p>
<ul>
<li><a href="/api/directory/v1/openapi.json">API (OpenAPI)</a></li>
<li><a href="/api/directory/v1/search?q=a">Search example</a></li>
</ul>
</main></body></html>
"""

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
}


async def landing(request: Request) -> Response:
    """GET /: what this server is, in English and French."""
    return HTMLResponse(_LANDING, headers=_HEADERS)


routes = [Route("/", landing, methods=["GET"])]
