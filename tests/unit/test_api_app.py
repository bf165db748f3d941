"""The read API over fixed states: probes, auth by role, reads, operator actions and audit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.unit.api_fakes import OPERATOR, VIEWER, FakeOperations, make_app

V = {"Authorization": f"Bearer {VIEWER}"}
O = {"Authorization": f"Bearer {OPERATOR}"}  # noqa: E741


@pytest.fixture
def ops() -> FakeOperations:
    return FakeOperations()


@pytest.fixture
def client(ops: FakeOperations) -> TestClient:
    return TestClient(make_app(ops))


def test_probes_and_metrics_need_no_token(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "alive"
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["partitions"] == [0, 1]
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "q2c_records_processed_total" in metrics.text


def test_not_ready_is_503() -> None:
    assert TestClient(make_app(ready=False)).get("/ready").status_code == 503


@pytest.mark.parametrize(
    "path",
    ["/api/v1/overview", "/api/v1/sagas", "/api/v1/sagas/D-1", "/api/v1/exceptions", "/api/v1/dlq"],
)
def test_reads_need_a_valid_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    bad = client.get(path, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    assert client.get(path, headers=V).status_code == 200
    assert client.get(path, headers=O).status_code == 200


def test_viewer_cannot_operate_and_refusals_are_audited(
    client: TestClient, ops: FakeOperations
) -> None:
    body = {"topic": "q2c.crm.events.dlq", "partition": 0, "offset": 0}
    assert client.post("/api/v1/dlq/replay", json=body).status_code == 401
    assert client.post("/api/v1/dlq/replay", json=body, headers=V).status_code == 403
    assert (
        client.post("/api/v1/exceptions/D-3/retry", json={"reason": "x"}, headers=V).status_code
        == 403
    )
    assert ops.calls == []
    assert [a["outcome"] for a in ops.audits] == ["denied:401", "denied:403", "denied:403"]
    assert ops.audits[1]["actor"].startswith("viewer:")


def test_operator_replays_and_resolves(client: TestClient, ops: FakeOperations) -> None:
    body = {"topic": "q2c.crm.events.dlq", "partition": 0, "offset": 0}
    replayed = client.post("/api/v1/dlq/replay", json=body, headers=O)
    assert replayed.status_code == 200 and replayed.json()["replayed_to"] == "q2c.crm.events"
    missing = client.post("/api/v1/dlq/replay", json={**body, "offset": 5}, headers=O)
    assert missing.status_code == 404
    retry = client.post("/api/v1/exceptions/D-3/retry", json={"reason": "fixed MDM"}, headers=O)
    assert retry.status_code == 200 and retry.json()["attempt"] == 1
    assert ops.calls[-1][0] == "retry" and ops.calls[-1][1][0] == "D-3"
    cancel = client.post("/api/v1/exceptions/D-3/cancel", json={"reason": "lost"}, headers=O)
    assert cancel.status_code == 200
    # Only sagas in `exception` can be retried or cancelled.
    active = client.post("/api/v1/exceptions/D-2/retry", json={"reason": "x"}, headers=O)
    assert active.status_code == 409
    unknown = client.post("/api/v1/exceptions/D-9/cancel", json={"reason": "x"}, headers=O)
    assert unknown.status_code == 404
    outcomes = [a["outcome"] for a in ops.audits]
    assert outcomes == [
        "done",
        "not-found",
        "requested",
        "requested",
        "rejected:not-in-exception",
        "rejected:not-in-exception",
    ]
    assert all(a["actor"].startswith("operator:") for a in ops.audits)
    assert OPERATOR not in str(ops.audits)  # fingerprints only, never the token


def test_replaying_a_superseded_command_is_a_conflict_naming_its_successor(
    client: TestClient,
) -> None:
    body = {"topic": "q2c.commands.dlq", "partition": 0, "offset": 3}
    refused = client.post("/api/v1/dlq/replay", json=body, headers=O)
    assert refused.status_code == 409
    assert "superseded by the later q2c.commands.crm:1:40" in refused.json()["detail"]


def test_saga_by_key_shows_history_timers_and_parked(client: TestClient) -> None:
    body = client.get("/api/v1/sagas/D-2", headers=V).json()
    (q2c,) = [s for s in body["sagas"] if s["saga_type"] == "quote-to-cash"]
    assert q2c["state"] == "active"
    assert [h["to_state"] for h in q2c["history"]][:3] == [
        "validating",
        "creating_project",
        "awaiting_activation",
    ]
    assert all(h["event_id"] and h["at"] for h in q2c["history"])
    assert [t["name"] for t in q2c["timers"]] == ["dunning"]
    # No amounts, names or tax registrations in a saga view.
    assert "Acme" not in str(body) and "DE123" not in str(body)
    assert client.get("/api/v1/sagas/nope", headers=V).status_code == 404


def test_list_filters_and_pages(client: TestClient) -> None:
    page = client.get("/api/v1/sagas?saga_type=quote-to-cash&limit=2", headers=V).json()
    assert page["total"] == 3 and [i["saga_key"] for i in page["items"]] == ["D-1", "D-2"]
    rest = client.get("/api/v1/sagas?saga_type=quote-to-cash&limit=2&offset=2", headers=V).json()
    assert [i["saga_key"] for i in rest["items"]] == ["D-3"]
    done = client.get("/api/v1/sagas?state=completed", headers=V).json()
    assert {i["saga_key"] for i in done["items"]} == {"D-1"}
    # The fixtures stamp history at NOW; the API clock is two hours later.
    assert client.get("/api/v1/sagas?min_age_s=3600", headers=V).json()["total"] >= 3
    assert client.get("/api/v1/sagas?min_age_s=86400", headers=V).json()["total"] == 0
    assert client.get("/api/v1/sagas?limit=0", headers=V).status_code == 422


def test_invoices_exceptions_and_overview(client: TestClient) -> None:
    inv = client.get("/api/v1/deals/D-2/invoices", headers=V).json()
    assert [(i["invoice_id"], i["milestone_id"], i["paid"]) for i in inv["invoices"]] == [
        ("I-1", "M1", False)
    ]
    # Money at the contract's scale, as the decoder hands it to the saga.
    assert inv["invoices"][0]["total"] == "1000.0000" and inv["all_paid"] is False
    paid = client.get("/api/v1/deals/D-1/invoices", headers=V).json()
    assert paid["all_paid"] and len(paid["invoices"]) == 2
    exc = client.get("/api/v1/exceptions", headers=V).json()["items"]
    assert [(e["saga_key"], e["reason"]) for e in exc] == [("D-3", "unknown legal entity")]
    assert exc[0]["age_seconds"] == pytest.approx(7200)
    over = client.get("/api/v1/overview", headers=V).json()
    funnel = {f["stage"]: f["count"] for f in over["funnel"]}
    assert funnel["closed_won"] == 3 and funnel["active"] == 2 and funnel["completed"] == 1
    assert over["by_state"]["quote-to-cash"] == {"active": 1, "completed": 1, "exception": 1}
    paid = over["cycle_times"]["invoice_to_payment"]
    assert paid["count"] == 2 and paid["max"] == pytest.approx(60, rel=0.005)


def test_status_page_and_openapi_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "q2c" in page.text
    assert client.get("/static/app.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/dlq/replay" in spec["paths"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_k8s_probes_point_at_served_unauthenticated_paths(client: TestClient) -> None:
    manifest = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "workers.yaml"
    docs = list(yaml.safe_load_all(manifest.read_text()))
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    paths = {container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")}
    assert paths == {"/health", "/ready"}
    for path in paths:
        assert client.get(path).status_code == 200
