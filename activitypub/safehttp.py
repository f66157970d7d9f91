"""The one safe HTTP client every remote fetch and delivery goes through (SSRF, size, time).

Layers, from the socket up:

- `GuardedBackend`, an httpcore network backend: it resolves the host name itself, keeps only
  the addresses `AddressPolicy` permits, and opens the TCP connection to that exact checked IP
  (no second lookup, so no DNS rebinding between check and connect; attacks.md C3, Mastodon
  `Request::Socket`). TLS still uses the original name for SNI and certificate checks, because
  httpcore calls `start_tls(server_hostname=<URL host>)` on the stream we return. Numeric-host
  tricks (`2130706433`, `0x7f.1`, `127.1`) go through getaddrinfo and are refused as 127.0.0.1.
- `make_client`, an `httpx.AsyncClient` whose transport dials only through that backend, with
  `trust_env=False` (an environment proxy would bypass the check), no automatic redirects and
  no cookie jar.
- `fetch_json` / `fetch_text`: one GET with redirects followed by hand so that every hop is
  re-checked (scheme, port, connected address), a total deadline over all hops, a cap on the
  decompressed body, and for ActivityPub documents the content-type and `id` rules.

Every refusal is a `FetchError` whose `reason` is one of `REASONS`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import socket
import ssl
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from http.cookiejar import CookieJar, DefaultCookiePolicy
from ipaddress import ip_address
from typing import Any

import anyio
import httpcore
import httpx
import orjson

from activitypub.addresses import AddressPolicy, IPAddress
from activitypub.errors import FetchError
from activitypub.vocab import ACTIVITY_JSON, LD_JSON_AS, is_activitypub_content_type

logger = logging.getLogger(__name__)

REASONS = frozenset(
    {
        "invalid_url", "scheme_not_allowed", "port_not_allowed", "forbidden_address",
        "resolve_failed", "connect_failed", "network_error", "timeout", "too_many_redirects",
        "too_large", "bad_encoding", "not_found", "gone", "http_status", "not_activitypub",
        "invalid_json", "id_mismatch",
    }
)  # fmt: skip
MAX_JSON_DEPTH = 64
MAX_ADDRESSES = 4  # Mastodon keeps at most 2 IPv6 + 2 IPv4 addresses per name
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?", re.ASCII)  # raw_host: lowercase, IDNA

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Resolve `(host, port)` to IP addresses; raise OSError when the name does not resolve."""


@dataclasses.dataclass(frozen=True)
class FetchPolicy:
    """What a client may fetch: addresses, schemes, ports, sizes and times.

    `allowed_ports=None` means 443, plus 80 when `allow_http`; tests widen it to their peers'
    ports. Timeouts follow Mastodon's `Request` (connect 5 s, read 10 s, 30 s total deadline,
    CVE-2023-36461) and the body cap its `body_with_limit` (1 MB).
    """

    addresses: AddressPolicy = dataclasses.field(default_factory=AddressPolicy)
    allow_http: bool = False
    allowed_ports: frozenset[int] | None = None
    max_bytes: int = 1_048_576
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 3
    user_agent: str = "Hirondelle"

    @property
    def schemes(self) -> frozenset[str]:
        return frozenset({"https", "http"}) if self.allow_http else frozenset({"https"})

    @property
    def ports(self) -> frozenset[int]:
        if self.allowed_ports is not None:
            return self.allowed_ports
        return frozenset({443, 80}) if self.allow_http else frozenset({443})


@dataclasses.dataclass(frozen=True)
class Fetched:
    """A fetched JSON document: the final URL after redirects, and the parsed object."""

    url: str
    status: int
    document: dict[str, Any]
    content_type: str


@dataclasses.dataclass(frozen=True)
class FetchedText:
    """A fetched text document (host-meta, HTML for rel=me), decoded with its charset."""

    url: str
    status: int
    text: str
    content_type: str


async def system_resolver(host: str, port: int) -> Sequence[IPAddress]:
    """Resolve with the operating system (hosts file and DNS) without blocking the loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        try:
            address = ip_address(sockaddr[0])
        except ValueError:
            continue
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that connects only to checked addresses, never by name."""

    def __init__(
        self,
        policy: FetchPolicy,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve `host`, drop refused addresses, connect to the first permitted one."""
        if port not in self._policy.ports:
            raise FetchError("port_not_allowed", f"port {port} is not allowed")
        addresses = await self._resolve(host, port, timeout)
        permitted = [ip for ip in addresses if self._policy.addresses.permits(ip)]
        if not permitted:
            logger.info("refused to connect to %s: no permitted address", host)
            raise FetchError("forbidden_address", f"{host} resolves to no permitted address")
        error: Exception | None = None
        for ip in permitted[:MAX_ADDRESSES]:
            try:
                stream = await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
                return _ClosedOnAbort(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def _resolve(self, host: str, port: int, seconds: float | None) -> Sequence[IPAddress]:
        try:
            async with asyncio.timeout(seconds):
                return await self._resolver(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise FetchError("resolve_failed", f"{host} does not resolve: {exc}") from None

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchError("forbidden_address", "unix sockets are never used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _ClosedOnAbort(httpcore.AsyncNetworkStream):
    """A stream that is closed when its TLS handshake is interrupted, cancellation included.

    httpcore closes the socket when `start_tls` raises an Exception, but not when the task is
    cancelled (our total deadline cancels it), which leaked the connection.
    """

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self._stream.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()
            raise

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool replaced by one over GuardedBackend.

    httpx 0.28 builds `self._pool` in `__init__` and offers no `network_backend` argument, so
    we swap the pool: request/response conversion and exception mapping stay httpx's own.
    """

    def __init__(self, backend: GuardedBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


def make_client(
    policy: FetchPolicy,
    *,
    resolver: Resolver | None = None,
    verify: ssl.SSLContext | str | bool = True,
) -> httpx.AsyncClient:
    """Build the HTTP client for every outbound request; close it with `await client.aclose()`.

    Args:
        policy: the addresses and ports the client may connect to (checked at connect time).
        resolver: name resolution; the operating system's by default, a fake one in tests.
        verify: True (system CA bundle via httpx/certifi), a CA file path, an SSLContext (a
            test CA), or False (tests only).
    """
    transport = _GuardedTransport(
        GuardedBackend(policy, resolver or system_resolver), _ssl_context(verify)
    )
    timeout = httpx.Timeout(
        connect=policy.connect_timeout,
        read=policy.read_timeout,
        write=policy.read_timeout,
        pool=policy.connect_timeout,
    )
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        timeout=timeout,
        headers={"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"},
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),  # keep no cookies
    )


def _ssl_context(verify: ssl.SSLContext | str | bool) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify, trust_env=False)


def check_url(url: str | httpx.URL, policy: FetchPolicy) -> httpx.URL:
    """Parse `url` and apply the scheme and port rules; the address is checked at connect."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError("invalid_url", str(exc)) from None
    if parsed.scheme not in policy.schemes:
        raise FetchError("scheme_not_allowed", f"scheme {parsed.scheme!r} is not allowed")
    if not _valid_host(parsed.raw_host) or parsed.userinfo:
        raise FetchError("invalid_url", "a URL needs a host name and no user information")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if port not in policy.ports:
        raise FetchError("port_not_allowed", f"port {port} is not allowed")
    return parsed


def _valid_host(raw_host: bytes) -> bool:
    host = raw_host.decode("ascii", "replace")
    if ":" in host:  # an IPv6 literal
        try:
            ip_address(host)
        except ValueError:
            return False
        return True
    return _HOST_NAME.fullmatch(host) is not None


async def fetch_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    policy: FetchPolicy,
    auth: httpx.Auth | None = None,
    accept: str = f"{ACTIVITY_JSON}, {LD_JSON_AS}",
    require_activitypub: bool = True,
    require_id_match: bool = True,
) -> Fetched:
    """GET a JSON object; by default an ActivityPub document whose `id` is exactly `url`.

    The content-type rule is GHSA-jhrq-qvrm-qr36 (CVE-2024-25623); the id rule is
    CVE-2024-23832: like Mastodon's `JsonLdHelper#fetch_resource`, the id must equal the URL
    that was asked for, whatever the redirects. Callers that do not know the id yet pass
    `require_id_match=False` and then fetch again by the document's `id`.

    Raises:
        FetchError: with one of `REASONS`.
    """
    body = await _get(client, url, policy=policy, accept=accept, auth=auth, limit=None)
    if require_activitypub and not is_activitypub_content_type(body.content_type):
        raise FetchError("not_activitypub", f"content type {body.content_type!r}")
    document = parse_json_object(body.content)
    if require_id_match and document.get("id") != url:
        raise FetchError("id_mismatch", f"the document at {url} has another id")
    return Fetched(str(body.url), body.status, document, body.content_type)


async def fetch_text(
    client: httpx.AsyncClient,
    url: str,
    *,
    policy: FetchPolicy,
    accept: str,
    max_bytes: int | None = None,
) -> FetchedText:
    """GET a text document through the same checks (redirects, deadline, size cap)."""
    body = await _get(client, url, policy=policy, accept=accept, auth=None, limit=max_bytes)
    try:
        text = body.content.decode(body.charset or "utf-8", errors="replace")
    except LookupError:
        text = body.content.decode("utf-8", errors="replace")
    return FetchedText(str(body.url), body.status, text, body.content_type)


def parse_json_object(content: bytes) -> dict[str, Any]:
    """Parse a JSON object nested at most MAX_JSON_DEPTH levels deep (attacks.md D3)."""
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise FetchError("invalid_json", f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise FetchError("invalid_json", "the document is not a JSON object")
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise FetchError("invalid_json", f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth_exceeds(value: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


@dataclasses.dataclass(frozen=True)
class _Body:
    url: httpx.URL
    status: int
    content_type: str
    charset: str | None
    content: bytes


async def _get(
    client: httpx.AsyncClient,
    url: str,
    *,
    policy: FetchPolicy,
    accept: str,
    auth: httpx.Auth | None,
    limit: int | None,
) -> _Body:
    """Run one GET, redirects included, under the total deadline; map failures to reasons."""
    try:
        async with asyncio.timeout(policy.total_timeout):
            return await _follow(client, url, policy, accept, auth, limit or policy.max_bytes)
    except (TimeoutError, httpx.TimeoutException):
        raise FetchError("timeout", f"{url} did not answer in time") from None
    except httpx.ConnectError as exc:
        raise FetchError("connect_failed", f"cannot connect for {url}: {exc}") from None
    except httpx.InvalidURL as exc:
        raise FetchError("invalid_url", str(exc)) from None
    except httpx.TransportError as exc:
        raise FetchError("network_error", f"{url}: {type(exc).__name__}") from None


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    policy: FetchPolicy,
    accept: str,
    auth: httpx.Auth | None,
    limit: int,
) -> _Body:
    """Follow at most `max_redirects` redirects, re-checking every hop (attacks.md C2)."""
    origin = check_url(url, policy)
    current = origin
    for _hop in range(policy.max_redirects + 1):
        # Credentials (a signature, an Authorization header) only go to the origin asked for.
        hop_auth = auth if _same_origin(current, origin) else None
        request = client.build_request("GET", current, headers={"Accept": accept})
        response = await client.send(request, auth=hop_auth, stream=True, follow_redirects=False)
        try:
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or location is None:
                _check_status(response, current)
                content = await _read_limited(response, limit)
                return _Body(
                    current,
                    response.status_code,
                    response.headers.get("content-type", ""),
                    response.charset_encoding,
                    content,
                )
        finally:
            await response.aclose()
        current = check_url(current.join(location), policy)
    raise FetchError(
        "too_many_redirects", f"{url} redirects more than {policy.max_redirects} times"
    )


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _check_status(response: httpx.Response, url: httpx.URL) -> None:
    status = response.status_code
    if status == 200:
        return
    if status == 410:
        raise FetchError("gone", f"{url} is gone (410)")
    if status == 404:
        raise FetchError("not_found", f"{url} was not found (404)")
    raise FetchError("http_status", f"{url} answered {status}")


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    """Read the body, decompressing as it streams, and stop once it passes `limit` bytes.

    Content-Length is only used to refuse early. Decompression is done here, with zlib's
    `max_length`, so a gzip bomb never inflates more than `limit + 1` bytes (attacks.md D2);
    httpx's own decoder would inflate each network chunk whole.
    """
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise FetchError("too_large", f"declared {declared} bytes, more than {limit}")
    decode = _decoder(response.headers.get("content-encoding", ""))
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            body += decode(chunk, limit + 1 - len(body))
            if len(body) > limit:
                raise FetchError("too_large", f"the body is larger than {limit} bytes")
    except zlib.error as exc:
        raise FetchError("bad_encoding", f"cannot decompress: {exc}") from None
    return bytes(body)


def _decoder(content_encoding: str) -> Callable[[bytes, int], bytes]:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda chunk, _limit: chunk
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header
        return inflater.decompress  # (data, max_length): max_length is always >= 1 here
    raise FetchError("bad_encoding", f"content encoding {encoding!r} was not asked for")
