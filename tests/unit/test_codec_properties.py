"""Property tests: any valid contract object survives encode -> decode, also across releases."""

from __future__ import annotations

import json
import shutil
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from types import UnionType
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic.fields import FieldInfo

from engine.codec import Codec, SchemaStore
from engine.codec.framing import frame
from engine.contracts import (
    ALL_MODELS,
    BillingModel,
    ClosedWon,
    Command,
    Contract,
    Event,
    Invoice,
    InvoiceLine,
    IssueInvoice,
    Money,
    Rate,
    RateCard,
    Record,
)
from engine.contracts.currencies import ISO_4217
from engine.contracts.types import AvroDecimal
from engine.paths import SCHEMAS_DIR

Draw = Callable[[st.SearchStrategy[Any]], Any]

currencies = st.sampled_from(sorted(ISO_4217))
countries = st.from_regex(r"[A-Z]{2}", fullmatch=True)
kebab = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6}){0,2}", fullmatch=True)
texts = st.text(min_size=1, max_size=24)  # any Unicode (no surrogates): UTF-8 must round-trip
timestamps = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
ints = st.integers(min_value=1, max_value=1000)


def decimals(precision: int, scale: int, low: str = "0", high: str | None = None) -> Any:
    top = Decimal(high) if high else Decimal(10) ** (precision - scale) - 1
    return st.decimals(min_value=Decimal(low), max_value=top, places=scale).filter(lambda d: d > 0)


def money(currency: str | None = None, high: str = "1000000000") -> Any:
    return st.builds(
        Money,
        amount=decimals(20, 4, high=high),
        currency=st.just(currency) if currency else currencies,
    )


def _validator_names(info: FieldInfo) -> set[str]:
    names = set()
    for meta in info.metadata:
        func = getattr(meta, "func", None)
        names.add(getattr(func, "__name__", ""))
        names.add(str(getattr(meta, "pattern", "")))
    return names


def for_field(info: FieldInfo) -> Any:
    """A strategy for one model field from its annotation and constraint metadata."""
    marks = _validator_names(info)
    decimal = next((m for m in info.metadata if isinstance(m, AvroDecimal)), None)
    if "_currency" in marks:
        return currencies
    if "_uuid" in marks:
        return st.uuids().map(str)
    if "^[A-Z]{2}$" in marks:
        return countries
    if any("a-z0-9" in m for m in marks):
        return kebab
    if decimal is not None:
        high = "24" if decimal.scale == 2 else None  # hours are (0, 24]
        return decimals(decimal.precision, decimal.scale, high=high)
    return for_type(info.annotation)


def for_type(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        args = typing.get_args(tp)
        return for_field(FieldInfo.from_annotation(tp)) if len(args) > 1 else for_type(args[0])
    if origin in (typing.Union, UnionType):
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return st.none() | for_type(inner)
    if origin is tuple:
        return st.lists(for_type(typing.get_args(tp)[0]), max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(texts, st.text(max_size=10), max_size=3)
    simple = {str: texts, int: ints, bool: st.booleans(), date: st.dates()}
    if tp in simple:
        return simple[tp]
    if tp is datetime or getattr(tp, "__name__", "") == "AwareDatetime":
        return timestamps
    if isinstance(tp, type) and issubclass(tp, BillingModel):
        return st.sampled_from(BillingModel)
    if isinstance(tp, type) and issubclass(tp, Record):
        return models(tp)
    raise TypeError(f"no strategy for {tp!r}")


@st.composite
def _rate_card(draw: Draw, currency: str) -> RateCard:
    rates = draw(st.lists(st.tuples(texts, money(currency)), max_size=3))
    return RateCard(
        rate_card_id=draw(texts),
        currency=currency,
        rates=tuple(Rate(role=r, hourly_rate=m) for r, m in rates),
    )


@st.composite
def _contract(draw: Draw) -> Contract:
    currency = draw(currencies)
    billing = draw(st.sampled_from(BillingModel))
    start = draw(st.dates(max_value=date(9000, 1, 1)))
    milestones = draw(st.lists(models("Milestone", currency), max_size=3))
    if billing is BillingModel.MILESTONE and not milestones:
        milestones = [draw(models("Milestone", currency))]
    total = sum((m.amount.amount for m in milestones), Decimal(0))
    if billing is BillingModel.TIME_AND_MATERIALS:
        total = draw(decimals(20, 4, high="1000000000"))
    rate_card = draw(_rate_card(currency)) if billing is BillingModel.TIME_AND_MATERIALS else None
    return Contract(
        contract_id=draw(texts),
        billing_model=billing,
        currency=currency,
        total_value=Money(amount=total, currency=currency),
        payment_terms_days=draw(st.integers(1, 3650)),
        start_date=start,
        end_date=draw(st.dates(min_value=start)),
        milestones=tuple(milestones),
        rate_card=rate_card,
        billing_period_days=draw(ints),
    )


@st.composite
def _lines_and_total(draw: Draw) -> tuple[tuple[InvoiceLine, ...], Money]:
    currency = draw(currencies)
    lines = draw(
        st.lists(
            st.builds(
                InvoiceLine,
                description=texts,
                quantity=decimals(12, 4),
                unit_price=money(currency),
                amount=money(currency),
            ),
            min_size=1,
            max_size=3,
        )
    )
    total = Money(amount=sum((line.amount.amount for line in lines), Decimal(0)), currency=currency)
    return tuple(lines), total


@st.composite
def models(draw: Draw, cls: type[Record] | str, currency: str | None = None) -> Any:
    """A valid instance of any contract model: generic fields plus per-type business rules."""
    model = ALL_MODELS[f"io.q2c.{cls}"] if isinstance(cls, str) else cls
    if model is Money:
        return draw(money(currency))
    if model is Contract:
        return draw(_contract())
    values = {name: draw(for_field(info)) for name, info in model.model_fields.items()}
    if currency is not None and "amount" in values:
        values["amount"] = draw(money(currency))
    if issubclass(model, Event):
        envelope = values["envelope"].model_copy(update={"event_type": model.EVENT_TYPE})
        values["envelope"] = envelope
    if issubclass(model, Command):
        update = {"command_type": model.COMMAND_TYPE, "target_system": model.TARGET}
        values["header"] = values["header"].model_copy(update=update)
    if model is ClosedWon:
        values["account"] = values["account"].model_copy(update={"legal_entity": draw(texts)})
    if model in (Invoice, IssueInvoice):
        values["lines"], values["total"] = draw(_lines_and_total())
    if model is InvoiceLine:
        values["amount"] = draw(money(values["unit_price"].currency))
    if model is RateCard:
        return draw(_rate_card(values["currency"]))
    # Validate the whole object: model_copy(update=...) above skipped validation.
    return model.model_validate(values)


CODEC = Codec()


@pytest.mark.parametrize("name", sorted(ALL_MODELS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(name: str, data: st.DataObject) -> None:
    model = data.draw(models(ALL_MODELS[name]))
    decoded = CODEC.decode(CODEC.encode(model), topic="t", partition=0, offset=0)
    assert type(decoded) is type(model)
    assert decoded == model


def _store_with_old_envelope(tmp: Path) -> SchemaStore:
    """Current schemas, plus a `v0` release whose Envelope lacked the (defaulted) `source_ids`."""
    root = tmp / "schemas"
    shutil.copytree(SCHEMAS_DIR, root, ignore=shutil.ignore_patterns("history", "*.md"))
    old = root / "history" / "v0"
    shutil.copytree(root, old, ignore=shutil.ignore_patterns("history"))
    envelope = json.loads((old / "Envelope.avsc").read_text())
    envelope["fields"] = [f for f in envelope["fields"] if f["name"] != "source_ids"]
    (old / "Envelope.avsc").write_text(json.dumps(envelope))
    return SchemaStore(root)


@pytest.fixture(scope="module")
def old_envelope_store(tmp_path_factory: pytest.TempPathFactory) -> SchemaStore:
    return _store_with_old_envelope(tmp_path_factory.mktemp("evolution"))


@pytest.mark.parametrize(
    "name", ["io.q2c.ClosedWon", "io.q2c.InvoiceIssued", "io.q2c.PaymentReceived"]
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_old_writer_new_reader(
    name: str, data: st.DataObject, old_envelope_store: SchemaStore
) -> None:
    model = data.draw(models(ALL_MODELS[name]))
    old = old_envelope_store.history["v0"].entries[name]
    record = model.model_dump()
    del record["envelope"]["source_ids"]
    body = BytesIO()
    schemaless_writer(body, old.parsed, record)
    codec = Codec(old_envelope_store)
    assert old.fingerprint != codec.fingerprint(name)

    decoded = codec.decode(
        frame(old.fingerprint, body.getvalue()), topic="t", partition=0, offset=0
    )

    expected = model.model_copy(
        update={"envelope": model.envelope.model_copy(update={"source_ids": {}})}
    )
    assert decoded == expected
