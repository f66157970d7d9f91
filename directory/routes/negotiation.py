"""Choose between HTML and ActivityStreams JSON from a request's Accept header."""

from __future__ import annotations

_AS_TYPES = ("application/activity+json", "application/ld+json", "application/json")


def wants_activity_json(accept: str | None) -> bool:
    """True when the client prefers ActivityStreams JSON to HTML (q-values honoured).

    Mastodon's URL resolver sends `application/ld+json; profile=…, application/activity+json,
    text/html;q=0.1` and must get JSON; browsers send `text/html,…` and get the page.
    """
    if not accept:
        return True
    best_json, best_html = 0.0, 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        quality = _quality(params)
        if media in _AS_TYPES:
            best_json = max(best_json, quality)
        elif media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, quality)
        elif media in ("*/*", "application/*"):
            best_json = max(best_json, quality * 0.5)
    return best_json > best_html


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0
