"""Client-side rate and concurrency limit per platform instance and credential.

q2c should never trip a platform's limits: every request first takes a slot of an
`aiolimiter.AsyncLimiter` (requests per second) and of a semaphore (requests in flight).
Both wait; nothing is dropped. When the platform still answers "slow down" with a
`Retry-After`, `hold()` makes every request on that credential wait that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

from aiolimiter import AsyncLimiter


class Limiter:
    """Requests per second plus concurrent requests, shared by all callers of one credential."""

    def __init__(self, rate_per_s: float, concurrency: int) -> None:
        if rate_per_s <= 0 or concurrency < 1:
            raise ValueError("rate_per_s must be positive and concurrency at least 1")
        # A one-request bucket refilled every 1/rate s: no burst above the rate, since platform
        # windows (e.g. per second) start where they like.
        self._rate = AsyncLimiter(1, 1.0 / rate_per_s)
        self._slots = asyncio.Semaphore(concurrency)
        self._not_before = 0.0
        self.waited_s = 0.0
        self.waits = 0

    def hold(self, seconds: float) -> None:
        """No request before `seconds` from now (a platform's Retry-After)."""
        loop = asyncio.get_running_loop()
        self._not_before = max(self._not_before, loop.time() + seconds)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Wait for a request slot; yields the seconds waited."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with self._slots:
            while (pause := self._not_before - loop.time()) > 0:
                await asyncio.sleep(pause)
            await self._rate.acquire()
            waited = loop.time() - start
            if waited > 0.001:
                self.waits += 1
                self.waited_s += waited
            yield waited


# Per event loop: asyncio primitives belong to the loop they were first used in.
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], Limiter]] = (
    weakref.WeakKeyDictionary()
)


def limiter_for(instance: str, credential: str, rate_per_s: float, concurrency: int) -> Limiter:
    """The one limiter of a credential on a platform instance in this process (and loop).

    Keyed by credential because platform limits are per user/integration: two connectors
    sharing a credential (say Salesforce and Certinia in one org) share its allowance.
    """
    limiters = _LIMITERS.setdefault(asyncio.get_running_loop(), {})
    key = (instance, credential)
    limiter = limiters.get(key)
    if limiter is None:
        limiter = limiters[key] = Limiter(rate_per_s, concurrency)
    return limiter
