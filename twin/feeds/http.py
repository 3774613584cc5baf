"""Reading a feed over HTTP: a conditional GET, so an unchanged feed costs one 304."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Fetched:
    """One conditional GET. content None: not modified since the validators given."""

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
) -> Fetched:
    """GET `url` with `If-None-Match` / `If-Modified-Since` from the last read's validators.

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
        response = http.get(url, headers=sent)
    finally:
        if own:
            http.close()
    if response.status_code == 304:
        return Fetched(None)
    response.raise_for_status()
    return Fetched(
        response.content,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )
