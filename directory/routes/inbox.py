"""Our inboxes: the shared inbox, each entry actor's and the instance actor's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.errors import NotFound
from directory.routes.responses import data, federation_of
from directory.services import inbound


async def shared_inbox(request: Request) -> Response:
    """POST /inbox and /actor/inbox."""
    return await _receive(request, None)


async def entry_inbox(request: Request) -> Response:
    """POST /x/{x_id}/inbox."""
    raw = request.path_params["x_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise NotFound("no such inbox")
    return await _receive(request, int(raw))


async def _receive(request: Request, entry_x_id: int | None) -> Response:
    body = await request.body()
    # The request target exactly as received (Starlette's url.path is percent-decoded).
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    path = raw_path.decode("latin-1") + (f"?{request.url.query}" if request.url.query else "")
    received = await inbound.receive(
        federation_of(request),
        method=request.method,
        path=path,
        headers=request.headers,
        body=body,
        entry_x_id=entry_x_id,
    )
    return data({"status": "duplicate" if received.duplicate else "accepted"}, status=202)


routes = [
    Route("/inbox", shared_inbox, methods=["POST"]),
    Route("/actor/inbox", shared_inbox, methods=["POST"]),
    Route("/x/{x_id}/inbox", entry_inbox, methods=["POST"]),
]
