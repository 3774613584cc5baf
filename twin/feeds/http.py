"""Reading a feed over HTTP: a conditional GET, so an unchanged feed costs one 304."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Fetched:
    """One conditional GET. content None: not modified since the validators given. A body over
    the size limit is cut off just past it (so `len(content) > largest` says it was too big)."""

    content: bytes | None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.content is None


def conditional_get(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
    largest: int | None = None,
) -> Fetched:
    """GET `url` with `If-None-Match` / `If-Modified-Since` from the last read's validators.
    The body is streamed, so one over `largest` bytes is cut off there, never held whole.

    Raises httpx.HTTPError for a feed that cannot be read (unreachable, an HTTP error status).
    """
    sent = dict(headers or {})
    if etag:
        sent["If-None-Match"] = etag
    if last_modified:
        sent["If-Modified-Since"] = last_modified
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=True)
    try:
        with http.stream("GET", url, headers=sent) as response:
            if response.status_code == 304:
                return Fetched(None)
            response.raise_for_status()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if largest is not None and size > largest:
                    break
            return Fetched(
                b"".join(chunks),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
    finally:
        if own:
            http.close()
