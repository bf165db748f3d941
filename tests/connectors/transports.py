"""httpx transports for connector tests: record what was sent, lose a reply after its effect."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx


class Recording(httpx.AsyncBaseTransport):
    """Forwards to the real server and keeps each request with the status it was answered.

    With `lose=(method, path part)`, the first matching request reaches the server (its effect
    happens) but the client gets a read timeout instead of the reply, as after a lost reply.
    """

    def __init__(self, lose: tuple[str, str] | None = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lose = lose
        self.sent: list[tuple[httpx.Request, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        reply = await self.inner.handle_async_request(request)
        self.sent.append((request, reply.status_code))
        lose = self.lose
        if lose is not None and request.method == lose[0] and lose[1] in request.url.path:
            self.lose = None
            await reply.aclose()
            raise httpx.ReadTimeout("reply lost on the way back", request=request)
        return reply

    async def aclose(self) -> None:
        await self.inner.aclose()

    def posts(self, path_prefix: str) -> list[tuple[str, str, dict[str, list[str]], int]]:
        """(path, Idempotency-Key, form fields, status) of each form POST under `path_prefix`."""
        return [
            (r.url.path, r.headers["idempotency-key"], parse_qs(r.content.decode()), status)
            for r, status in self.sent
            if r.method == "POST" and r.url.path.startswith(path_prefix)
        ]
