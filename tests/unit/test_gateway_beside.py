"""The gateway and translator beside a worker: a failed translator stops the worker and its
failure is the process's; a clean stop asks the translator to finish."""

from __future__ import annotations

import asyncio
from typing import cast

from engine.connectors.settings import ConnectorSettings
from engine.connectors.translator import Translator
from engine.gateway.beside import Beside
from engine.settings import Settings


class FakeTranslator:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.stop = asyncio.Event()

    async def run(self) -> None:
        if self.fail:
            raise RuntimeError("broken mapping state")
        await self.stop.wait()

    def request_stop(self) -> None:
        self.stop.set()


async def test_a_failed_translator_stops_the_worker_and_is_reported() -> None:
    stopped: list[bool] = []
    beside = Beside(
        Settings(),
        ConnectorSettings(),
        gateway_port=None,
        translator=cast(Translator, FakeTranslator(fail=True)),
        on_failure=lambda: stopped.append(True),
    )
    await beside.start()
    await asyncio.sleep(0.05)
    await beside.stop()
    assert stopped == [True]
    assert isinstance(beside.failure(), RuntimeError)


async def test_a_clean_stop_lets_the_translator_finish() -> None:
    translator = FakeTranslator(fail=False)
    stopped: list[bool] = []
    beside = Beside(
        Settings(),
        ConnectorSettings(),
        gateway_port=None,
        translator=cast(Translator, translator),
        on_failure=lambda: stopped.append(True),
    )
    await beside.start()
    await beside.stop()
    assert translator.stop.is_set() and stopped == [] and beside.failure() is None
