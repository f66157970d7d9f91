"""JSON-LD with bundled contexts only, and tolerant accessors for AS2 read as plain JSON.

Hirondelle reads ActivityStreams as plain JSON, as Mastodon does: `as_list`, `first`, `get_id`,
`get_types` and `has_as_context` accept every shape peers send. pyld is for tests, validation
and proofs; it never touches the network (attacks.md D4: no remote `@context` loading), and its
untyped results stay inside this module.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import types
from collections.abc import Mapping
from importlib import resources

from activitypub.errors import InvalidDocument
from activitypub.vocab import AS_CONTEXT

# The contexts are the files of npm @fedify/vocab-runtime 2.3.6 (peers-and-tools.md §1.4).
CONTEXT_FILES = types.MappingProxyType(
    {
        "https://www.w3.org/ns/activitystreams": "activitystreams.json",
        "https://w3id.org/security/v1": "security-v1.json",
        "https://w3id.org/identity/v1": "identity-v1.json",
        "https://w3id.org/security/multikey/v1": "security-multikey-v1.json",
        "https://w3id.org/security/data-integrity/v1": "security-data-integrity-v1.json",
    }
)
RESOLVED_CONTEXT_CACHE_SIZE = 100


def bundled_context(url: str) -> dict[str, object] | None:
    """A copy of the bundled document of a context URL, or None if it is not bundled.

    `http://` and a trailing slash name the same context: peers write both.
    """
    key = url.strip().rstrip("/")
    if key.startswith("http://"):
        key = "https://" + key.removeprefix("http://")
    name = CONTEXT_FILES.get(key)
    return None if name is None else copy.deepcopy(_read_context(name))


def document_loader(url: str, options: Mapping[str, object] | None = None) -> dict[str, object]:
    """A pyld document loader over the bundled contexts; it never touches the network.

    Raises:
        pyld.jsonld.JsonLdError: code "loading document failed" for any other URL.
    """
    document = bundled_context(url)
    if document is None:
        jsonld = _pyld()
        raise jsonld.JsonLdError(
            "only bundled contexts are loaded",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
        "contentType": "application/ld+json",
        "tag": "static",  # never changes: pyld may keep the resolved context in its cache
    }


def expand(document: Mapping[str, object]) -> list[dict[str, object]]:
    """Expand a JSON-LD document with the bundled contexts only.

    Raises:
        InvalidDocument: the document is not valid JSON-LD or names an unknown context.
    """
    jsonld = _pyld()
    try:
        expanded: list[dict[str, object]] = jsonld.expand(dict(document), _options())
    except jsonld.JsonLdError as exc:
        raise InvalidDocument(f"JSON-LD expansion failed: {exc.code or exc.type}") from exc
    return expanded


def compact(document: Mapping[str, object], context: object) -> dict[str, object]:
    """Compact a JSON-LD document against `context` (a URL, an object or a list of them).

    Raises:
        InvalidDocument: the document or context is not valid JSON-LD or names an unknown
            context.
    """
    jsonld = _pyld()
    try:
        compacted: dict[str, object] = jsonld.compact(dict(document), context, _options())
    except jsonld.JsonLdError as exc:
        raise InvalidDocument(f"JSON-LD compaction failed: {exc.code or exc.type}") from exc
    return compacted


def as_list(value: object) -> list[object]:
    """A property value as a list: absent → [], a list as is, anything else → [value]."""
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def first(value: object) -> object:
    """The first item of a property value that may be a list, or None."""
    items = as_list(value)
    return items[0] if items else None


def get_id(value: object) -> str | None:
    """The id a property value refers to: the string itself, or the `id` of an object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None


def get_types(doc: object) -> list[str]:
    """The `type` of a document as a list of strings (`"Person"` or `["Person", ...]`)."""
    if not isinstance(doc, dict):
        return []
    return [item for item in as_list(doc.get("type")) if isinstance(item, str)]


def has_as_context(doc: object) -> bool:
    """Whether `@context` is the ActivityStreams URI or a list holding it (as Mastodon checks)."""
    if not isinstance(doc, dict):
        return False
    context = doc.get("@context")
    if isinstance(context, list):
        return AS_CONTEXT in context
    return context == AS_CONTEXT


def _options() -> dict[str, object]:
    """pyld options: our loader, and our own cache of resolved contexts.

    pyld's default cache is process-wide, and it serves any URL some loader once tagged
    "static" without asking ours; a cache of our own keeps other callers' contexts out.
    """
    context_resolver = importlib.import_module("pyld.context_resolver")
    return {
        "documentLoader": document_loader,
        "contextResolver": context_resolver.ContextResolver(_resolved_contexts(), document_loader),
    }


@functools.cache
def _resolved_contexts() -> object:
    cache: object = _pyld().LRUCache(maxsize=RESOLVED_CONTEXT_CACHE_SIZE)
    return cache


@functools.cache
def _read_context(name: str) -> dict[str, object]:
    text = (resources.files("activitypub") / "contexts" / name).read_text("utf-8")
    document: dict[str, object] = json.loads(text)
    return document


@functools.cache
def _pyld() -> types.ModuleType:
    """pyld.jsonld, imported on first use (it imports requests: about 150 ms)."""
    return importlib.import_module("pyld.jsonld")
