"""Build this instance's public URLs: actors, inboxes, collections and pages.

Entry actor ids are built on the X numeric id, never on the handle, so they survive handle
changes (DESIGN §4; mastodon-interop.md §2 "Design note").
"""

from __future__ import annotations

import dataclasses
import urllib.parse


@dataclasses.dataclass(frozen=True)
class Urls:
    """The URLs of one instance, served at `https://{domain}`."""

    domain: str

    @property
    def base(self) -> str:
        return f"https://{self.domain}"

    @property
    def host(self) -> str:
        """The domain without a port (the instance actor's preferredUsername)."""
        return self.domain.partition(":")[0]

    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    def instance_inbox(self) -> str:
        return f"{self.base}/actor/inbox"

    def instance_outbox(self) -> str:
        return f"{self.base}/actor/outbox"

    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def entry_actor(self, x_account_id: int) -> str:
        return f"{self.base}/x/{x_account_id}"

    def entry_inbox(self, x_account_id: int) -> str:
        return f"{self.entry_actor(x_account_id)}/inbox"

    def entry_outbox(self, x_account_id: int) -> str:
        return f"{self.entry_actor(x_account_id)}/outbox"

    def entry_followers(self, x_account_id: int) -> str:
        return f"{self.entry_actor(x_account_id)}/followers"

    def entry_following(self, x_account_id: int) -> str:
        return f"{self.entry_actor(x_account_id)}/following"

    def entry_page(self, x_handle: str) -> str:
        return f"{self.base}/@{urllib.parse.quote(x_handle)}"

    def activity(self, kind: str, token: str) -> str:
        """A new activity id, e.g. `…/activities/accept/<uuid>`."""
        return f"{self.base}/activities/{kind}/{token}"

    def acct(self, username: str) -> str:
        return f"acct:{username}@{self.domain}"

    def parse_entry_actor(self, uri: str) -> int | None:
        """The X id in one of our entry actor ids, or None if the URI is not one."""
        prefix = f"{self.base}/x/"
        if not uri.startswith(prefix):
            return None
        tail = uri[len(prefix) :]
        return int(tail) if tail.isascii() and tail.isdigit() and len(tail) <= 19 else None
