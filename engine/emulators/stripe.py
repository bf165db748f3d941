"""Stripe Billing emulator: the state stripe-mock does not keep, in front of stripe-mock.

stripe-mock (Stripe's official mock) validates every request against Stripe's OpenAPI
specification but is stateless: every invoice it creates has the same id and a repeated
`Idempotency-Key` is not replayed. A quote-to-cash run needs both, so this emulator forwards
each request to stripe-mock first when one is given (`upstream`: a request Stripe's spec
refuses gets stripe-mock's 4xx, unchanged) and then answers it from its own records, with
the documented semantics q2c relies on (https://docs.stripe.com/api/idempotent_requests):
- a POST with an `Idempotency-Key` seen before with the same parameters replays the first
  response (counted in `replayed`); with other parameters it is a 400 `idempotency_error`;
- customers (searchable by metadata), invoices (draft -> open on finalize, void), invoice
  items attached to their invoice, each with an id of its own;
- subscriptions, searchable by metadata and updated by id (metadata merged, as Stripe's update
  does; https://docs.stripe.com/api/subscriptions/update). q2c never creates one: a firm's own
  subscriptions are seeded with `subscribe`;
- effects: create customer / invoice / invoiceitem, update subscription, action finalize /
  send / void.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine.emulators.base import Emulator, RecordStore

_METADATA = re.compile(r"metadata\[(\w+)\]")
_SEARCH = re.compile(r"metadata\['((?:[^'\\]|\\.)*)'\]:'((?:[^'\\]|\\.)*)'")
FORWARDED = ("authorization", "content-type", "idempotency-key", "stripe-version")


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def _form(raw: bytes) -> dict[str, Any]:
    """Stripe's form encoding, `metadata[k]=v` gathered into a `metadata` dict."""
    fields: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    for key, value in parse_qsl(raw.decode(), keep_blank_values=True):
        found = _METADATA.fullmatch(key)
        if found:
            metadata[found.group(1)] = value
        else:
            fields[key] = value
    if metadata:
        fields["metadata"] = metadata
    return fields


class StripeEmulator(Emulator):
    name = "stripe"

    def __init__(self, *, upstream: str | None = None, rate_per_s: float | None = None) -> None:
        super().__init__(rate_per_s=rate_per_s)
        self.upstream = upstream
        self.store = RecordStore("")
        self.replayed = 0  # requests answered from a saved idempotent response
        self._saved: dict[str, tuple[str, bytes, int, bytes]] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/customers/search", self._searcher("customer"), methods=["GET"]),
            Route("/v1/subscriptions/search", self._searcher("subscription"), methods=["GET"]),
            Route(
                "/v1/subscriptions/{subscription}",
                self._post(self._update_subscription),
                methods=["POST"],
            ),
            Route("/v1/customers", self._post(self._create_customer), methods=["POST"]),
            Route("/v1/invoices", self._list_invoices, methods=["GET"]),
            Route("/v1/invoices", self._post(self._create_invoice), methods=["POST"]),
            Route("/v1/invoiceitems", self._post(self._create_item), methods=["POST"]),
            Route(
                "/v1/invoices/{invoice}/{action:str}",
                self._post(self._invoice_action),
                methods=["POST"],
            ),
        ]

    async def authenticated(self, request: Request) -> bool:
        """Any test-mode secret key, as Bearer (what Stripe's client libraries send)."""
        return request.headers.get("authorization", "").startswith("Bearer sk_test_")

    def unauthorized_reply(self) -> Response:
        return _error(401, "invalid_request_error", "Invalid API Key provided")

    # -- stripe-mock in front ----------------------------------------------------------------

    async def _refused_by_spec(self, request: Request, body: bytes) -> Response | None:
        """stripe-mock's reply when Stripe's specification refuses the request, else None."""
        if self.upstream is None:
            return None
        async with httpx.AsyncClient(base_url=self.upstream, timeout=10) as client:
            reply = await client.request(
                request.method,
                request.url.path,
                params=request.url.query,
                content=body,
                headers={k: v for k, v in request.headers.items() if k in FORWARDED},
            )
        if 400 <= reply.status_code < 500:
            return Response(reply.content, reply.status_code, media_type="application/json")
        return None

    def _post(self, handler: Any) -> Any:
        """A POST route: validated upstream, replayed by idempotency key, then `handler`."""

        async def route(request: Request) -> Response:
            body = await request.body()
            key = request.headers.get("idempotency-key")
            if key is not None and key in self._saved:
                path, params, status, saved = self._saved[key]
                if (path, params) != (request.url.path, body):
                    return _error(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                    )
                self.replayed += 1
                return Response(saved, status, media_type="application/json")
            refused = await self._refused_by_spec(request, body)
            if refused is not None:
                return refused
            reply: Response = await handler(request, _form(body))
            if key is not None and reply.status_code < 500:
                self._saved[key] = (request.url.path, body, reply.status_code, bytes(reply.body))
            return reply

        return route

    # -- search ------------------------------------------------------------------------------

    def _searcher(self, record: str) -> Any:
        """`GET /v1/<record>s/search` on one metadata field (the only query q2c sends)."""

        async def search(request: Request) -> Response:
            refused = await self._refused_by_spec(request, b"")
            if refused is not None:
                return refused
            found = _SEARCH.fullmatch(request.query_params.get("query", ""))
            if found is None:
                return _error(400, "invalid_request_error", "unsupported search query")
            field, value = found.group(1), found.group(2)
            self.reads.append((record, value))
            data = [r for r in self.store.of(record).values() if r["metadata"].get(field) == value]
            return JSONResponse({"object": "search_result", "data": data, "has_more": False})

        return search

    # -- subscriptions -------------------------------------------------------------------------

    def subscribe(self, metadata: dict[str, str]) -> str:
        """Seed a subscription the firm set up in Stripe itself; returns its id."""
        sid = f"sub_q2c{len(self.store.of('subscription')) + 1:06d}"
        subscription = {
            "id": sid,
            "object": "subscription",
            "status": "active",
            "metadata": dict(metadata),
        }
        self.store.insert("subscription", subscription, sid)
        return sid

    async def _update_subscription(self, request: Request, form: dict[str, Any]) -> Response:
        subscription = self.store.of("subscription").get(request.path_params["subscription"])
        if subscription is None:
            return _error(404, "invalid_request_error", "No such subscription")
        subscription["metadata"] = {**subscription["metadata"], **form.get("metadata", {})}
        self.record(request, "update", "subscription", subscription["id"], form.get("metadata"))
        return JSONResponse(subscription)

    # -- customers -----------------------------------------------------------------------------

    async def _create_customer(self, request: Request, form: dict[str, Any]) -> Response:
        cid = f"cus_q2c{len(self.store.of('customer')) + 1:06d}"
        customer = {"id": cid, "object": "customer", "metadata": form.get("metadata", {})}
        self.store.insert("customer", customer, cid)
        self.record(request, "create", "customer", cid, customer["metadata"])
        return JSONResponse(customer)

    # -- invoices ------------------------------------------------------------------------------

    async def _create_invoice(self, request: Request, form: dict[str, Any]) -> Response:
        if form.get("customer") not in self.store.of("customer"):
            return _error(400, "invalid_request_error", "No such customer")
        iid = f"in_q2c{len(self.store.of('invoice')) + 1:06d}"
        invoice = {
            "id": iid,
            "object": "invoice",
            "status": "draft",
            "customer": form["customer"],
            "currency": form.get("currency"),
            "metadata": form.get("metadata", {}),
            "total": 0,
            "due_date": None,
            "lines": {"object": "list", "data": []},
        }
        self.store.insert("invoice", invoice, iid)
        self.record(request, "create", "invoice", iid, invoice["metadata"])
        return JSONResponse(invoice)

    async def _create_item(self, request: Request, form: dict[str, Any]) -> Response:
        invoice = self.store.of("invoice").get(str(form.get("invoice")))
        if invoice is None or invoice["status"] != "draft":
            return _error(400, "invalid_request_error", "No such draft invoice")
        item = {
            "id": f"ii_q2c{len(self.store.of('invoiceitem')) + 1:06d}",
            "object": "invoiceitem",
            "invoice": invoice["id"],
            "amount": int(form.get("amount", 0)),
            "currency": form.get("currency"),
            "description": form.get("description"),
        }
        self.store.insert("invoiceitem", item, item["id"])
        invoice["lines"]["data"].append(item)
        invoice["total"] += item["amount"]
        self.record(request, "create", "invoiceitem", item["id"], {"invoice": invoice["id"]})
        return JSONResponse(item)

    async def _invoice_action(self, request: Request, form: dict[str, Any]) -> Response:
        invoice = self.store.of("invoice").get(request.path_params["invoice"])
        action = request.path_params["action"]
        if invoice is None:
            return _error(404, "invalid_request_error", "No such invoice")
        allowed = {"finalize": ("draft",), "send": ("open",), "void": ("open",)}
        if action not in allowed:
            return _error(404, "invalid_request_error", f"Unrecognized request URL ({action})")
        if invoice["status"] not in allowed[action]:
            return _error(400, "invalid_request_error", f"invoice is {invoice['status']}")
        invoice["status"] = {"finalize": "open", "send": "open", "void": "void"}[action]
        self.record(request, "action", action, invoice["id"], {})
        return JSONResponse(invoice)

    async def _list_invoices(self, request: Request) -> Response:
        refused = await self._refused_by_spec(request, b"")
        if refused is not None:
            return refused
        customer, status = request.query_params.get("customer"), request.query_params.get("status")
        data = [
            i
            for i in self.store.of("invoice").values()
            if (customer is None or i["customer"] == customer)
            and (status is None or i["status"] == status)
        ]
        return JSONResponse({"object": "list", "data": data, "has_more": False})
