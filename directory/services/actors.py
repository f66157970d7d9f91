"""Build the ActivityPub documents of our actors: the instance actor and entry actors.

Shapes follow what Mastodon reads (mastodon-interop.md §2): served at their id, one inline
RSA `publicKey` whose owner is the actor, `preferredUsername` plus FEP-2c59 `webfinger`, the
shared inbox, PropertyValue fields, and `movedTo` only once the new account is confirmed.
"""

from __future__ import annotations

import html
from typing import Any

from activitypub import keys, vocab
from directory.store.federation import ActorEntry
from directory.urls import Urls

CONTEXT: list[Any] = [
    vocab.AS_CONTEXT,
    vocab.SECURITY_CONTEXT,
    {
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "webfinger": "https://purl.archive.org/socialweb/webfinger#webfinger",
    },
]
_NETWORK_NAMES = {"fediverse": "Fediverse", "bluesky": "Bluesky"}


def entry_actor(urls: Urls, entry: ActorEntry, public_pem: str) -> dict[str, Any]:
    """The `Person` document of a findable entry."""
    actor_id = urls.entry_actor(entry.x_account_id)
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": actor_id,
        "type": "Person",
        "preferredUsername": entry.x_handle,
        "webfinger": f"{entry.x_handle}@{urls.domain}",
        "name": entry.display_name,
        "summary": _summary(entry),
        "url": urls.entry_page(entry.x_handle),
        "inbox": urls.entry_inbox(entry.x_account_id),
        "outbox": urls.entry_outbox(entry.x_account_id),
        "followers": urls.entry_followers(entry.x_account_id),
        "following": urls.entry_following(entry.x_account_id),
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "manuallyApprovesFollowers": False,
        "discoverable": entry.public,
        "indexable": False,
        "published": entry.created_at.strftime("%Y-%m-%dT00:00:00Z"),
        "publicKey": keys.public_key_document(actor_id, public_pem),
        "attachment": _fields(entry),
    }
    if entry.moved_to is not None:
        document["movedTo"] = entry.moved_to
    return document


def instance_actor(urls: Urls, public_pem: str) -> dict[str, Any]:
    """The instance actor: signs our fetches, follows and is followed by peer directories."""
    actor_id = urls.instance_actor()
    return {
        "@context": CONTEXT,
        "id": actor_id,
        "type": "Application",
        "preferredUsername": urls.host,
        "webfinger": f"{urls.host}@{urls.domain}",
        "name": f"Hirondelle directory at {urls.domain}",
        "summary": "<p>The directory of where people went when they left X.</p>",
        "url": f"{urls.base}/",
        "inbox": urls.instance_inbox(),
        "outbox": urls.instance_outbox(),
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "indexable": False,
        "publicKey": keys.public_key_document(actor_id, public_pem),
    }


def _summary(entry: ActorEntry) -> str:
    handle = html.escape(entry.x_handle)
    if entry.moved_to is not None:
        return f"<p>@{handle} left X. This directory entry points to their new account.</p>"
    return f"<p>@{handle} left X. Their new accounts are listed below, with their consent.</p>"


def _fields(entry: ActorEntry) -> list[dict[str, str]]:
    x_url = f"https://x.com/{entry.x_handle}"
    fields = [{"type": "PropertyValue", "name": "X", "value": _link(x_url)}]
    for account in entry.accounts[:49]:  # Mastodon keeps at most 50 fields
        fields.append(
            {
                "type": "PropertyValue",
                "name": _NETWORK_NAMES.get(account.network, account.network),
                "value": _link(account.url, rel_me=True),
            }
        )
    return fields


def _link(url: str, *, rel_me: bool = False) -> str:
    """A profile field value: one <a> whose href equals its text (Mastodon's rel=me rule)."""
    escaped = html.escape(url)
    rel = "me nofollow noopener noreferrer" if rel_me else "nofollow noopener noreferrer"
    return f'<a href="{escaped}" rel="{rel}" target="_blank">{escaped}</a>'
