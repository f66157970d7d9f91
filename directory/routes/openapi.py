"""The OpenAPI 3.1 description of the directory's JSON API."""

from __future__ import annotations

import functools
from typing import Any  # OpenAPI fragments are free-form JSON

import orjson

from directory import __version__

_ERROR = {"$ref": "#/components/schemas/Error"}
_X_ID = {"type": "string", "pattern": "^[0-9]{1,19}$", "description": "X numeric account id"}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {"description": _REASONS[s], "content": {"application/json": {"schema": _ERROR}}}
        for s in statuses
    }


_REASONS = {
    404: "Not found (or not published).",
    413: "The body is larger than the server's cap, or the list is longer than 100,000.",
    415: "The body is not application/json.",
    400: "The body is not valid JSON.",
    422: "A parameter or a field is malformed; `detail` says which.",
}


def _ok(description: str, schema: dict[str, object]) -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}}
    }


_SCHEMAS: dict[str, object] = {
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    },
    "Account": {
        "type": "object",
        "required": ["network", "handle", "url", "primary", "proof"],
        "properties": {
            "network": {"enum": ["fediverse", "bluesky"]},
            "handle": {"type": "string", "examples": ["alice@mastodon.example"]},
            "url": {"type": "string", "format": "uri"},
            "primary": {"type": "boolean"},
            "proof": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "properties": {
                            "method": {"type": "string"},
                            "verified_at": {"type": "string", "format": "date-time"},
                        },
                    },
                ]
            },
        },
    },
    "Entry": {
        "type": "object",
        "required": ["x_account_id", "x_handle", "display_name", "accounts"],
        "properties": {
            "x_account_id": _X_ID,
            "x_handle": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,15}$"},
            "display_name": {"type": "string"},
            "status": {"enum": ["published"]},
            "x_proof": {
                "type": "object",
                "properties": {
                    "method": {"enum": ["x_oauth", "moderator", "vouched", "archive"]},
                    "level": {"type": "integer", "minimum": 0, "maximum": 3},
                },
            },
            "origin": {"type": "string", "description": "'local' or the origin instance"},
            "published_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}},
        },
    },
}

_PATHS: dict[str, Any] = {
    "/api/directory/v1/entries/{x_account_id}": {
        "get": {
            "summary": "The published entry of an X account",
            "parameters": [
                {"name": "x_account_id", "in": "path", "required": True, "schema": _X_ID}
            ],
            "responses": {
                **_ok("The entry", {"$ref": "#/components/schemas/Entry"}),
                **_errors(404, 422),
            },
        }
    },
    "/api/directory/v1/entries": {
        "get": {
            "summary": "Find entries by X handle, or by a new (fediverse or Bluesky) handle",
            "description": "Give exactly one of `x_handle` (answers one entry) or `account`"
            " (answers `{results: [Entry]}`). Only entries visible to everyone are found.",
            "parameters": [
                {"name": "x_handle", "in": "query", "schema": {"type": "string"}},
                {"name": "account", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                **_ok("The entry, or {results}", {"type": "object"}),
                **_errors(404, 422),
            },
        }
    },
    "/api/directory/v1/search": {
        "get": {
            "summary": "Search handles and display names",
            "description": "X and new handles by prefix, display names by prefix, then display"
            " names fuzzily (3 characters or more). Pages through `cursor`, 1,000 results deep.",
            "parameters": [
                {
                    "name": "q",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 100},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                },
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                **_ok(
                    "One page of results",
                    {
                        "type": "object",
                        "properties": {
                            "results": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Entry"},
                            },
                            "next_cursor": {"type": ["string", "null"]},
                        },
                    },
                ),
                **_errors(422),
            },
        }
    },
    "/api/directory/v1/match": {
        "post": {
            "summary": "Match up to 100,000 X account ids (or X handles) at once",
            "description": "Ids travel as strings: 64-bit X ids lose precision as JSON numbers."
            " Ids match every published entry; handles match entries visible to everyone.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {
                                    "type": "object",
                                    "required": ["x_account_ids"],
                                    "properties": {
                                        "x_account_ids": {
                                            "type": "array",
                                            "maxItems": 100000,
                                            "items": _X_ID,
                                        }
                                    },
                                },
                                {
                                    "type": "object",
                                    "required": ["x_handles"],
                                    "properties": {
                                        "x_handles": {
                                            "type": "array",
                                            "maxItems": 100000,
                                            "items": {"type": "string"},
                                        }
                                    },
                                },
                            ]
                        }
                    }
                },
            },
            "responses": {
                **_ok(
                    "The matches and the count of ids that matched nothing",
                    {
                        "type": "object",
                        "properties": {
                            "matches": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Entry"},
                            },
                            "unmatched": {"type": "integer"},
                        },
                    },
                ),
                **_errors(400, 413, 415, 422),
            },
        }
    },
    "/healthz": {
        "get": {"summary": "The process is up", "responses": {"200": {"description": "up"}}}
    },
    "/readyz": {
        "get": {
            "summary": "The database answers and migrations are current",
            "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}},
        }
    },
}


@functools.cache
def openapi(domain: str) -> str:
    """The OpenAPI document for a server at `domain`, as JSON text."""
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "Hirondelle directory API",
            "version": __version__,
            "description": "Where people went when they left X: an opt-in, verified directory."
            ' Errors are `{"error": code, "detail": message}` with a 4xx status.',
        },
        "servers": [{"url": f"https://{domain}"}],
        "paths": _PATHS,
        "components": {"schemas": _SCHEMAS},
    }
    return orjson.dumps(document).decode()
