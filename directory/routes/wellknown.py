"""Discovery endpoints: WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub import nodeinfo, webfinger
from directory.errors import InvalidInput, NotFound
from directory.routes.responses import federation_of
from directory.services import discovery

JRD = "application/jrd+json"
REPOSITORY = "https://codeberg.org/hirondelle/hirondelle"
_CORS = {"Access-Control-Allow-Origin": "*"}


async def webfinger_endpoint(request: Request) -> Response:
    """GET /.well-known/webfinger?resource=acct:user@domain (RFC 7033)."""
    resource = request.query_params.get("resource", "")
    if not resource:
        raise InvalidInput("give ?resource=acct:name@domain", code="missing_resource")
    body = await discovery.webfinger_body(federation_of(request), resource)
    return Response(body, media_type=JRD, headers=_CORS)


async def host_meta(request: Request) -> Response:
    """GET /.well-known/host-meta: the XRD WebFinger template (JSON when asked for)."""
    base = federation_of(request).urls.base
    if "json" in request.headers.get("accept", ""):
        return Response(orjson.dumps(webfinger.host_meta_json(base)), media_type=JRD)
    return Response(webfinger.host_meta_xml(base), media_type="application/xrd+xml")


async def nodeinfo_links(request: Request) -> Response:
    """GET /.well-known/nodeinfo: where the NodeInfo documents are."""
    return Response(
        orjson.dumps(nodeinfo.well_known(federation_of(request).urls.base)),
        media_type="application/json",
        headers=_CORS,
    )


async def nodeinfo_document(request: Request) -> Response:
    """GET /nodeinfo/2.0 and /nodeinfo/2.1."""
    version = request.path_params["version"]
    if version not in ("2.0", "2.1"):
        raise NotFound("NodeInfo is served as 2.0 and 2.1")
    fed = federation_of(request)
    document = nodeinfo.build(
        version,
        software_name="hirondelle",
        software_version=fed.software_version,
        repository=REPOSITORY,
        homepage=f"{fed.urls.base}/",
        users_total=await discovery.published_count(fed),
        open_registrations=False,
        metadata={"nodeName": f"Hirondelle directory at {fed.urls.domain}"},
    )
    profile = f"http://nodeinfo.diaspora.software/ns/schema/{version}#"
    return Response(
        orjson.dumps(document),
        media_type=f'application/json; profile="{profile}"',
        headers=_CORS,
    )


routes = [
    Route("/.well-known/webfinger", webfinger_endpoint, methods=["GET"]),
    Route("/.well-known/host-meta", host_meta, methods=["GET"]),
    Route("/.well-known/nodeinfo", nodeinfo_links, methods=["GET"]),
    Route("/nodeinfo/{version:str}", nodeinfo_document, methods=["GET"]),  # 2.0 and 2.1
]
