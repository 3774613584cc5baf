"""Sign-in throttling: attempts per client address, failures per user name, and a bounded number
of password checks at once.

An Argon2id check costs ~50 ms of CPU and 64 MiB, so unbounded sign-ins starve everyone signed
in. Checks run on their own few threads (`concurrency`), at the lowest CPU priority (nice 19,
where the OS allows it: a thread's niceness is its own on Linux), so requests of people signed
in are served first when the CPU is short; at most `queue` more sign-ins wait for a thread, and
beyond that a sign-in is refused at once (429) without any hashing. Counts are kept per process
in moving windows (the `limits` library); with several worker processes each counts its own share.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

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


def _lowest_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):  # not Linux, or not allowed: checks keep normal priority
        pass


class SignInGuard:
    """Admit, run and count sign-in attempts (one per app; used from the event loop)."""

    def __init__(self, limits: SignInLimits):
        self.limits = limits
        self._counts = MovingWindowRateLimiter(MemoryStorage())
        self._per_address = RateLimitItemPerMinute(limits.per_address_per_minute)
        self._failures = RateLimitItemPerSecond(limits.failures, limits.window_s)
        self._checks = ThreadPoolExecutor(
            max_workers=limits.concurrency,
            thread_name_prefix="twin-sign-in",
            initializer=_lowest_priority,
        )
        self._pending = 0

    def _wait_s(self, item: RateLimitItem, *key: str) -> int:
        reset = self._counts.get_window_stats(item, *key).reset_time
        return math.ceil(reset - time.time())

    def admit(self, address: str, name: str) -> None:
        """Count an attempt from `address` for `name`; raise SignInRefused if over a limit."""
        if not self._counts.hit(self._per_address, "address", address):
            wait = self._wait_s(self._per_address, "address", address)
            raise SignInRefused(
                f"Too many sign-in attempts from your address: try again in {wait} s.", wait
            )
        if not self._counts.test(self._failures, "user", name):
            wait = self._wait_s(self._failures, "user", name)
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
        self._counts.hit(self._failures, "user", name)

    def succeeded(self, name: str) -> None:
        self._counts.clear(self._failures, "user", name)
