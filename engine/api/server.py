"""Serves the API with uvicorn inside the engine's event loop, on a socket bound here.

Binding the socket ourselves gives a clear OSError (and the real port when asked for port 0)
instead of uvicorn's `sys.exit`, and running uvicorn's startup/main_loop/shutdown directly
keeps the engine's own SIGTERM handling: `Server.serve` would install its own handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from engine.api.config import ApiSettings
from engine.api.hardening import harden
from engine.api.refusals import RefusalLedger

log = logging.getLogger("q2c.http")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 = an ephemeral port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class HttpServer:
    """One uvicorn server for `app` (behind engine.api.guard); `port` is the bound port."""

    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        api: ApiSettings | None = None,
        *,
        operator_guard: bool = True,
    ) -> None:
        """`operator_guard=False` for an app with its own per-route authentication (the
        webhook gateway): it is served as it is, without the operator API's guard layers."""
        self.app = app
        self.api = api or ApiSettings()
        self.operator_guard = operator_guard
        self.ledger: RefusalLedger | None = None
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind and start serving; raises OSError when the address cannot be bound."""
        sock = bind(self.host, self.requested_port)
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        served: Any = self.app
        if self.operator_guard:
            served, self.ledger = harden(self.app, self.api)
            self.ledger.start()
        config = uvicorn.Config(
            served,
            server_header=False,  # no `server: uvicorn` (version fingerprinting)
            log_config=None,  # keep the process's logging set-up (JSON lines)
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        # What Server._serve does before startup (uvicorn 0.29 .. 0.54), minus signal capture.
        if not config.loaded:
            config.load()
        server.lifespan = config.lifespan_class(config)
        self._server = server
        await server.startup(sockets=[sock])
        self._task = asyncio.create_task(server.main_loop(), name="q2c-http")
        log.info("serving HTTP on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop accepting, finish open requests (bounded by the graceful timeout), close."""
        server, task = self._server, self._task
        self._server = self._task = None
        if server is not None:
            server.should_exit = True
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await server.shutdown()
        if self.ledger is not None:
            await self.ledger.close()
            self.ledger = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
