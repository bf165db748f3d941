"""`async with` for the engine's objects that have async `start()` and `stop()`."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class AsyncStartStop:
    """Mixin: `async with obj:` starts it and always stops it. Subclasses define both."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
