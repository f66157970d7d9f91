"""NodeInfo documents: the `/.well-known/nodeinfo` discovery links and the 2.0/2.1 bodies.

Schemas: https://github.com/jhass/nodeinfo (schemas/2.0, schemas/2.1) and FEP-f1d5. Mastodon
serves 2.0 and never fetches other servers' NodeInfo; crawlers and Mastodon.py's
`instance_nodeinfo()` read it (mastodon-interop.md §8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

Version = Literal["2.0", "2.1"]
VERSIONS: tuple[Version, ...] = ("2.0", "2.1")

_SOFTWARE_NAME = re.compile(r"[a-z0-9-]+", re.ASCII)  # the schema's pattern for software.name


def schema(version: Version) -> str:
    """The schema URI of a NodeInfo version, used as the discovery `rel`."""
    return f"http://nodeinfo.diaspora.software/ns/schema/{version}"


def content_type(version: Version) -> str:
    """The media type to serve a NodeInfo document of `version` with."""
    return f'application/json; profile="{schema(version)}#"'


def well_known(base_url: str) -> dict[str, Any]:
    """The `/.well-known/nodeinfo` document linking `/nodeinfo/2.0` and `/nodeinfo/2.1`."""
    base = base_url.rstrip("/")
    return {
        "links": [
            {"rel": schema(version), "href": f"{base}/nodeinfo/{version}"} for version in VERSIONS
        ]
    }


def build(
    version: Version,
    *,
    software_name: str,
    software_version: str,
    repository: str,
    homepage: str,
    users_total: int,
    open_registrations: bool,
    metadata: Mapping[str, Any],
    users_active_month: int | None = None,
    users_active_halfyear: int | None = None,
) -> dict[str, Any]:
    """Build a NodeInfo document; 2.1 adds `software.repository` and `software.homepage`.

    Raises:
        ValueError: `software_name` does not match the schema's `^[a-z0-9-]+$`.
    """
    if not _SOFTWARE_NAME.fullmatch(software_name):
        raise ValueError(f"software name {software_name!r} must match ^[a-z0-9-]+$")
    software: dict[str, str] = {"name": software_name, "version": software_version}
    if version == "2.1":
        software |= {"repository": repository, "homepage": homepage}
    users: dict[str, int] = {"total": users_total}
    if users_active_month is not None:
        users["activeMonth"] = users_active_month
    if users_active_halfyear is not None:
        users["activeHalfyear"] = users_active_halfyear
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {"users": users},
        "metadata": dict(metadata),
    }
