"""WebFinger and host-meta: parse `acct:` resources, build JRD/XRD answers, resolve accounts.

Follows RFC 7033 (https://www.rfc-editor.org/rfc/rfc7033) as Mastodon uses it
(app/lib/webfinger.rb, app/services/resolve_account_service.rb; mastodon-interop.md §1, §8).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

import httpx

from activitypub import safehttp
from activitypub.errors import FetchError, InvalidDocument
from activitypub.vocab import ACTIVITY_JSON, is_activitypub_content_type

JRD_JSON = "application/jrd+json"
XRD_XML = "application/xrd+xml"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
XRD_NAMESPACE = "http://docs.oasis-open.org/ns/xri/xrd-1.0"
JRD_ACCEPT = f"{JRD_JSON}, application/json"  # Mastodon's Accept for WebFinger

# User names: Mastodon allows [a-z0-9_.-]; other servers are looser, but never allow spaces,
# '@', '/' or control characters (same rule as matching/identifiers.py).
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.~-]{0,63}", re.ASCII)
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)


@dataclasses.dataclass(frozen=True)
class Invalid:
    """Why a resource was refused: `code` for programs, `detail` for people."""

    code: str
    detail: str


@dataclasses.dataclass(frozen=True)
class Acct:
    """An account address `user@host`; host in lowercase ASCII, with `:port` when given."""

    user: str
    host: str

    @property
    def uri(self) -> str:
        return f"acct:{self.user}@{self.host}"

    @property
    def key(self) -> str:
        """The comparison key: WebFinger lookups are case-insensitive on Mastodon."""
        return f"{self.user}@{self.host}".lower()


@dataclasses.dataclass(frozen=True)
class WebFingerResult:
    """What a WebFinger lookup proved: the canonical subject and the ActivityPub actor URL."""

    subject: Acct
    self_href: str


def parse_resource(resource: str) -> Acct | Invalid:
    """Parse `acct:user@host`, `user@host` or `@user@host` into an Acct.

    The host goes through a strict parser: no `/`, `@`, `?`, `#` or user information can slip
    into it (CVE-2023-42451, GHSA-v3xf-c9qf-j667, where `mastodon.so/cial` became
    `mastodon.social`). IDN hosts become punycode.
    """
    text = resource.strip()
    if text[:5].lower() == "acct:":
        text = text[5:]
    text = text.removeprefix("@")
    parts = text.split("@")
    if len(parts) != 2:
        return Invalid("invalid_resource", "a resource is user@host with exactly one '@'")
    user, host_text = parts
    if not _USER.fullmatch(user):
        return Invalid("invalid_resource", f"{user[:40]!r} is not a user name")
    host = _parse_host(host_text)
    if host is None:
        return Invalid("invalid_resource", f"{host_text[:40]!r} is not a host name")
    return Acct(user, host)


def _parse_host(raw: str) -> str | None:
    name, sep, port = raw.partition(":")
    if sep and (not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536):
        return None
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return None
    return f"{ascii_name}:{int(port)}" if sep else ascii_name


def build_jrd(
    *, subject: str, self_href: str, profile_url: str | None, aliases: Sequence[str]
) -> dict[str, Any]:
    """Build the JRD for one actor: exactly one `rel=self` link of the ActivityPub type.

    Mastodon up to 4.2 took the *last* self link and 4.3+ the first AP-typed one, so exactly
    one keeps every version agreeing (mastodon-interop.md §1). Serve it as `JRD_JSON`.
    """
    links: list[dict[str, str]] = [{"rel": "self", "type": ACTIVITY_JSON, "href": self_href}]
    if profile_url is not None:
        links.append({"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url})
    return {"subject": subject, "aliases": list(aliases), "links": links}


def _lrdd_template(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/.well-known/webfinger?resource={{uri}}"


def host_meta_xml(base_url: str) -> str:
    """The XML host-meta document (serve as `XRD_XML`); Mastodon requires the XRD namespace."""
    template = quoteattr(_lrdd_template(base_url))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<XRD xmlns="{XRD_NAMESPACE}">\n'
        f'  <Link rel="lrdd" template={template}/>\n'
        "</XRD>\n"
    )


def host_meta_json(base_url: str) -> dict[str, Any]:
    """The JSON host-meta document (`/.well-known/host-meta.json`, RFC 6415 appendix A)."""
    return {"links": [{"rel": "lrdd", "template": _lrdd_template(base_url)}]}


async def resolve(
    acct: Acct, *, client: httpx.AsyncClient, policy: safehttp.FetchPolicy
) -> WebFingerResult:
    """Look `acct` up at its host, unsigned, and return its subject and actor URL.

    The caller compares `subject` with what it asked for (case-insensitively, `Acct.key`) and,
    like Mastodon's "confirm dance", queries the subject once more when they differ.

    Raises:
        FetchError: the lookup failed ("gone" on 410, "not_found" on 404, ...).
        InvalidDocument: the JRD has no valid subject or no ActivityPub self link.
    """
    # Mastodon puts the acct: URI into the query unencoded; user and host are validated.
    # WebFinger is https only; a policy that allows http (local tests only) falls back to it
    # when https cannot connect, since test peers often serve plain http.
    schemes = ("https", "http") if policy.allow_http else ("https",)
    for scheme in schemes:
        url = f"{scheme}://{acct.host}/.well-known/webfinger?resource={acct.uri}"
        try:
            fetched = await safehttp.fetch_json(
                client,
                url,
                policy=policy,
                accept=JRD_ACCEPT,
                require_activitypub=False,  # a JRD's content type is not checked (Mastodon)
                require_id_match=False,
            )
        except FetchError as exc:
            if scheme == schemes[-1] or exc.reason not in (
                "connect_failed",
                "network_error",
                "timeout",
            ):
                raise
            continue
        return read_jrd(fetched.document)
    raise AssertionError("unreachable")  # pragma: no cover


def read_jrd(jrd: dict[str, Any]) -> WebFingerResult:
    """Extract the subject and the first ActivityPub-typed `rel=self` link from a JRD."""
    subject = jrd.get("subject")
    parsed = parse_resource(subject) if isinstance(subject, str) else None
    if not isinstance(parsed, Acct):
        raise InvalidDocument("the JRD has no subject of the form user@host")
    links = jrd.get("links")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        href, media_type = link.get("href"), link.get("type")
        if isinstance(media_type, str) and is_activitypub_content_type(media_type):
            if isinstance(href, str) and href.startswith(("https://", "http://")):
                return WebFingerResult(parsed, href)
            break  # the chosen link is unusable; do not fall through to a later one
    raise InvalidDocument("the JRD has no usable ActivityPub self link")
