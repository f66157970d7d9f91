"""Answer the Mastodon client API's read calls with our entries as Mastodon `Account`s.

Shapes mirror Mastodon's REST::AccountSerializer and instance serializers closely enough for
Mastodon.py and Mastodon apps (mastodon-interop.md §11). Only findable entries are shown;
search and the directory show only those that are also public.
"""

from __future__ import annotations

from typing import Any

from directory import __version__
from directory.errors import NotFound
from directory.services.federation import Federation
from directory.store import federation as store
from directory.store.federation import ActorEntry
from matching import identifiers as ids

# Mastodon.py reads the version up to the first space; ≥ 4.0.0 selects the v2 instance API.
MASTODON_VERSION = f"4.3.0 (compatible; Hirondelle {__version__})"
API_VERSIONS = {"mastodon": 2}


async def lookup(fed: Federation, acct: str) -> dict[str, Any]:
    """GET /api/v1/accounts/lookup?acct=: `name` or `name@our-domain`."""
    user, _, host = acct.strip().removeprefix("@").partition("@")
    if host and host.lower() != fed.urls.domain.lower():
        raise NotFound("Record not found")
    handle = ids.parse_x_handle(user)
    if isinstance(handle, ids.Invalid):
        raise NotFound("Record not found")
    entry = await store.findable_by_handle(fed.pool, ids.x_handle_key(handle))
    if entry is None:
        raise NotFound("Record not found")
    return account(fed, entry)


async def search_accounts(
    fed: Federation, q: str, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Accounts whose X handle starts with the query (an exact `name@our-domain` first)."""
    text = q.strip().removeprefix("@")
    user, _, host = text.partition("@")
    if host and host.lower() != fed.urls.domain.lower():
        return []
    prefix = ids.x_handle_key(user) if user.isascii() else ""
    if not prefix or isinstance(ids.parse_x_handle(user), ids.Invalid):
        return []
    found = await store.findable_by_prefix(fed.pool, prefix, limit=offset + limit)
    return [account(fed, entry) for entry in found[offset : offset + limit]]


async def directory(fed: Federation, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """GET /api/v1/directory: findable, public entries, newest first."""
    return [
        account(fed, e) for e in await store.findable_page(fed.pool, offset=offset, limit=limit)
    ]


async def instance_v1(fed: Federation) -> dict[str, Any]:
    """GET /api/v1/instance."""
    users = await store.count_findable(fed.pool)
    return {
        "uri": fed.urls.domain,
        "title": f"Hirondelle directory at {fed.urls.domain}",
        "short_description": "Where people went when they left X.",
        "description": "An opt-in, verified directory of people's new accounts.",
        "email": "",
        "version": MASTODON_VERSION,
        "urls": {},
        "stats": {"user_count": users, "status_count": 0, "domain_count": 0},
        "thumbnail": None,
        "languages": ["fr", "en"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": _configuration(),
        "contact_account": None,
        "rules": [],
    }


async def instance_v2(fed: Federation) -> dict[str, Any]:
    """GET /api/v2/instance."""
    users = await store.count_findable(fed.pool)
    return {
        "domain": fed.urls.domain,
        "title": f"Hirondelle directory at {fed.urls.domain}",
        "version": MASTODON_VERSION,
        "source_url": "",
        "description": "An opt-in, verified directory of people's new accounts.",
        "usage": {"users": {"active_month": users}},
        "thumbnail": {"url": f"{fed.urls.base}/static/avatar.png"},
        "languages": ["fr", "en"],
        "configuration": _configuration(),
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "api_versions": API_VERSIONS,
        "contact": {"email": "", "account": None},
        "rules": [],
    }


def account(fed: Federation, entry: ActorEntry) -> dict[str, Any]:
    """One entry as a Mastodon Account."""
    created = entry.created_at.strftime("%Y-%m-%dT00:00:00.000Z")
    shown: dict[str, Any] = {
        **_base_account(str(entry.x_account_id), entry.x_handle, entry.x_handle, fed),
        "display_name": entry.display_name,
        "discoverable": entry.public,
        "indexable": False,
        "created_at": created,
        "note": f"<p>@{entry.x_handle} left X; their new accounts are listed below.</p>",
        "url": fed.urls.entry_page(entry.x_handle),
        "uri": fed.urls.entry_actor(entry.x_account_id),
        "fields": [
            {"name": "X", "value": f"https://x.com/{entry.x_handle}", "verified_at": None},
            *(
                {"name": a.network.title(), "value": a.url, "verified_at": None}
                for a in entry.accounts
            ),
        ],
    }
    if entry.moved_to is not None:
        shown["moved"] = _moved_account(fed, entry)
    return shown


def _moved_account(fed: Federation, entry: ActorEntry) -> dict[str, Any]:
    handle = next((a.handle for a in entry.accounts if a.network == "fediverse"), None)
    assert entry.moved_to is not None
    user, _, _host = (handle or "").partition("@")
    url = next((a.url for a in entry.accounts if a.network == "fediverse"), entry.moved_to)
    return {
        **_base_account(
            f"moved-{entry.x_account_id}", user or "moved", handle or entry.moved_to, fed
        ),
        "display_name": entry.display_name,
        "created_at": entry.created_at.strftime("%Y-%m-%dT00:00:00.000Z"),
        "note": "",
        "url": url,
        "uri": entry.moved_to,
        "fields": [],
    }


def _base_account(account_id: str, username: str, acct: str, fed: Federation) -> dict[str, Any]:
    avatar = f"{fed.urls.base}/static/avatar.png"
    return {
        "id": account_id,
        "username": username,
        "acct": acct,
        "locked": False,
        "bot": False,
        "group": False,
        "discoverable": False,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": f"{fed.urls.base}/static/header.png",
        "header_static": f"{fed.urls.base}/static/header.png",
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
        "last_status_at": None,
        "emojis": [],
    }


def _configuration() -> dict[str, Any]:
    return {
        "urls": {"streaming": ""},
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {"max_characters": 0, "max_media_attachments": 0},
        "media_attachments": {"supported_mime_types": []},
        "polls": {"max_options": 0},
        "translation": {"enabled": False},
    }
