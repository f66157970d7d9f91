"""Parse and normalise the identifiers Hirondelle deals in: X ids and handles, new handles.

Every parser returns the parsed value or an `Invalid` carrying a machine-readable code and a
sentence for people; none of them raises on bad input and none of them returns None.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

MAX_X_ACCOUNT_ID = 2**63 - 1  # X ids are 64-bit snowflakes; PostgreSQL bigint holds them all
MAX_DISPLAY_NAME = 100

_X_ID = re.compile(r"[0-9]{1,20}", re.ASCII)
_X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}", re.ASCII)
# Fediverse user names: Mastodon allows [a-z0-9_.-]; other servers are looser, but never
# allow spaces, '@' or control characters. https://docs.joinmastodon.org/spec/webfinger/
_FEDI_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.~-]{0,63}", re.ASCII)
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
# https://atproto.com/specs/handle#handle-identifier-syntax
_ATPROTO_HANDLE = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII
)


@dataclasses.dataclass(frozen=True)
class Invalid:
    """Why a value was refused: `code` for programs, `detail` for people."""

    code: str
    detail: str


@dataclasses.dataclass(frozen=True)
class FediverseHandle:
    """A fediverse account address, `user@host`, host in lowercase ASCII (punycode)."""

    user: str
    host: str

    @property
    def address(self) -> str:
        return f"{self.user}@{self.host}"

    @property
    def key(self) -> str:
        """The comparison key: fediverse user names are case-insensitive on Mastodon."""
        return self.address.lower()

    @property
    def profile_url(self) -> str:
        """The conventional profile URL (Mastodon's `/@user`) until the actor is resolved."""
        return f"https://{self.host}/@{self.user}"


@dataclasses.dataclass(frozen=True)
class BlueskyHandle:
    """An atproto handle such as `alice.bsky.social`, lowercased."""

    handle: str

    @property
    def key(self) -> str:
        return self.handle

    @property
    def profile_url(self) -> str:
        return f"https://bsky.app/profile/{self.handle}"


def parse_x_account_id(raw: object) -> int | Invalid:
    """Parse an X numeric account id given as a decimal string (or an int) into an int."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return Invalid("invalid_x_account_id", "an X account id must be a string of digits")
    text = str(raw).strip() if isinstance(raw, str) else str(raw)
    if not _X_ID.fullmatch(text):
        return Invalid("invalid_x_account_id", f"{_shorten(text)!r} is not an X account id")
    value = int(text)
    if not 0 < value <= MAX_X_ACCOUNT_ID:
        return Invalid("invalid_x_account_id", f"{text} is outside the range of X account ids")
    return value


@dataclasses.dataclass(frozen=True)
class InvalidAt:
    """Why a list was refused: the position of the first bad item and its reason."""

    index: int
    invalid: Invalid


def parse_x_account_ids(raws: list[object]) -> list[int] | InvalidAt:
    """Parse a list of X ids given as decimal strings, in order (bulk matching's hot path).

    The common case (plain digit strings) is checked with a handful of C-level passes; only a
    list that fails them is walked item by item, to name the first bad item exactly.
    """
    fast = _plain_ids(raws)
    if fast is not None:
        return fast
    parsed: list[int] = []
    for index, raw in enumerate(raws):
        if not isinstance(raw, str):
            detail = "must be a string: 64-bit X ids lose precision as JSON numbers"
            return InvalidAt(index, Invalid("invalid_x_account_id", detail))
        value = parse_x_account_id(raw)
        if isinstance(value, Invalid):
            return InvalidAt(index, value)
        parsed.append(value)
    return parsed


def _plain_ids(raws: list[object]) -> list[int] | None:
    """The ids when every item is a plain in-range digit string; None sends to the slow path."""
    texts = [raw for raw in raws if type(raw) is str]
    if len(texts) != len(raws) or not all(texts):
        return None
    joined = "".join(texts)
    if not (joined.isascii() and joined.isdigit()) or max(map(len, texts), default=0) > 19:
        return None
    values = list(map(int, texts))
    if values and (min(values) < 1 or max(values) > MAX_X_ACCOUNT_ID):
        return None
    return values


def parse_x_handle(raw: object) -> str | Invalid:
    """Parse an X handle (`@jack` or `jack`) and return it without the `@`, case kept."""
    if not isinstance(raw, str):
        return Invalid("invalid_x_handle", "an X handle must be a string")
    text = raw.strip()
    text = text.removeprefix("@")
    if not _X_HANDLE.fullmatch(text):
        return Invalid(
            "invalid_x_handle",
            f"{_shorten(raw)!r} is not an X handle (1 to 15 of A-Z, a-z, 0-9 and _)",
        )
    return text


def x_handle_key(handle: str) -> str:
    """The comparison key of a valid X handle: X handles are case-insensitive."""
    return handle.lower()


def parse_fediverse_handle(raw: object) -> FediverseHandle | Invalid:
    """Parse `@user@host`, `user@host` or `acct:user@host` into a FediverseHandle."""
    if not isinstance(raw, str):
        return Invalid("invalid_fediverse_handle", "a fediverse handle must be a string")
    text = unicodedata.normalize("NFKC", raw.strip())
    if _has_hidden_characters(text):
        return Invalid("invalid_fediverse_handle", "the handle contains invisible characters")
    text = text.removeprefix("acct:").removeprefix("@")
    user, sep, host_text = text.partition("@")
    if not sep or not _FEDI_USER.fullmatch(user):
        return Invalid(
            "invalid_fediverse_handle",
            f"{_shorten(raw)!r} is not a handle like @name@server.example",
        )
    host = parse_host(host_text)
    if isinstance(host, Invalid):
        return Invalid("invalid_fediverse_handle", f"{_shorten(raw)!r}: {host.detail}")
    return FediverseHandle(user=user, host=host)


def parse_bluesky_handle(raw: object) -> BlueskyHandle | Invalid:
    """Parse an atproto handle (`alice.bsky.social`, optionally with `@`) into a BlueskyHandle."""
    if not isinstance(raw, str):
        return Invalid("invalid_bluesky_handle", "a Bluesky handle must be a string")
    text = unicodedata.normalize("NFKC", raw.strip())
    if _has_hidden_characters(text):
        return Invalid("invalid_bluesky_handle", "the handle contains invisible characters")
    text = text.removeprefix("@").lower()
    if len(text) > 253 or not _ATPROTO_HANDLE.fullmatch(text):
        return Invalid(
            "invalid_bluesky_handle", f"{_shorten(raw)!r} is not a handle like alice.bsky.social"
        )
    return BlueskyHandle(handle=text)


def parse_host(raw: str) -> str | Invalid:
    """Parse a host name with an optional port into lowercase ASCII (IDNA, punycode)."""
    name, sep, port = raw.partition(":")
    if sep and (not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536):
        return Invalid("invalid_host", f"{_shorten(raw)!r} has an invalid port")
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return Invalid("invalid_host", f"{_shorten(raw)!r} is not a valid host name")
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return Invalid("invalid_host", f"{_shorten(raw)!r} is not a valid host name")
    return f"{ascii_name}:{port}" if sep else ascii_name


def parse_display_name(raw: object) -> str | Invalid:
    """Clean a display name: NFC, no control or invisible format characters, at most 100."""
    if not isinstance(raw, str):
        return Invalid("invalid_display_name", "a display name must be a string")
    text = " ".join(unicodedata.normalize("NFC", raw).split())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text):
        return Invalid("invalid_display_name", "the display name contains control characters")
    if len(text) > MAX_DISPLAY_NAME:
        return Invalid(
            "invalid_display_name", f"a display name has at most {MAX_DISPLAY_NAME} characters"
        )
    return text


def search_key(text: str) -> str:
    """Fold text for searching: compatibility forms, no accents, lowercase, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _has_hidden_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp") for ch in text)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
