"""Sign-in throttling: attempts per client address, failures per user name, and a bounded number
of password checks at once.

An Argon2id check costs ~50 ms of CPU and 64 MiB, so unbounded sign-ins starve everyone signed
in. Checks run on their own few threads (`concurrency`), at the lowest CPU priority (nice 19,
where the OS allows it: a thread's niceness is its own on Linux), so requests of people signed
in are served first when the CPU is short; at most `queue` more sign-ins wait for a thread, and
beyond that a sign-in is refused at once (429) without any hashing. Counts are kept per process
in moving windows; with several worker processes each counts its own share. (The `limits`
library's in-memory store was tried first: under a flood it starts a timer thread every 10 ms,
which cost more than the refusals themselves.)
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class SignInRefused(Exception):
    """A sign-in refused before the password is checked (429, with Retry-After)."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.message = message
        self.retry_after_s = max(1, retry_after_s)


@dataclass(frozen=True, slots=True)
class SignInLimits:
    per_address_per_minute: int = 10
    failures: int = 5
    window_s: int = 900
    concurrency: int = 2
    queue: int = 8


class MovingWindow:
    """At most `limit` accepted events per key in any `window_s` seconds. Keys are kept while
    they have events in the window, at most `max_keys` (the oldest dropped first), so a flood
    from ever new addresses or names cannot grow memory without bound. Not thread-safe: used
    from the event loop only."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000):
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def allows(self, key: str, now: float) -> bool:
        events = self._recent(key, now)
        return events is None or len(events) < self.limit

    def hit(self, key: str, now: float) -> bool:
        """Count an event if the window allows it; whether it did."""
        if not self.allows(key, now):
            return False
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            if len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        events.append(now)
        return True

    def wait_s(self, key: str, now: float) -> int:
        """Seconds until the window allows `key` again (0 if it does now)."""
        events = self._recent(key, now)
        if events is None or len(events) < self.limit:
            return 0
        return math.ceil(events[0] + self.window_s - now)

    def clear(self, key: str) -> None:
        self._events.pop(key, None)


def _lowest_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):  # not Linux, or not allowed: checks keep normal priority
        pass


class SignInGuard:
    """Admit, run and count sign-in attempts (one per app; used from the event loop)."""

    def __init__(self, limits: SignInLimits):
        self.limits = limits
        self._per_address = MovingWindow(limits.per_address_per_minute, 60.0)
        self._failures = MovingWindow(limits.failures, float(limits.window_s))
        self._checks = ThreadPoolExecutor(
            max_workers=limits.concurrency,
            thread_name_prefix="twin-sign-in",
            initializer=_lowest_priority,
        )
        self._pending = 0

    def admit(self, address: str, name: str) -> None:
        """Count an attempt from `address` for `name`; raise SignInRefused if over a limit."""
        now = time.monotonic()
        if not self._per_address.hit(address, now):
            wait = self._per_address.wait_s(address, now)
            raise SignInRefused(
                f"Too many sign-in attempts from your address: try again in {wait} s.", wait
            )
        if not self._failures.allows(name, now):
            wait = self._failures.wait_s(name, now)
            raise SignInRefused(
                f"Too many failed sign-ins for this name: try again in {math.ceil(wait / 60)} min.",
                wait,
            )

    async def check(self, verify: Callable[[], T]) -> T:
        """Run the (slow, blocking) password check on one of the bounded slots."""
        limits = self.limits
        if self._pending >= limits.concurrency + limits.queue:
            raise SignInRefused("The server is busy with other sign-ins: try again shortly.", 2)
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._checks, verify)
        finally:
            self._pending -= 1

    def failed(self, name: str) -> None:
        self._failures.hit(name, time.monotonic())

    def succeeded(self, name: str) -> None:
        self._failures.clear(name)
