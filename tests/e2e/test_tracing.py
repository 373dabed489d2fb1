"""One trace follows an approval through the services: HTTP approval in claims → reservation in
funds → publicity notice in notify → publicity window in funds → payment (claims and notify
consume it), and /metrics counts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from ruralfund_claims.app import create_app as claims_app
from ruralfund_common.auth import Role
from ruralfund_common.telemetry import record_spans, setup_tracing
from ruralfund_common.testing.services import bearer, person, running_service, service_settings
from ruralfund_common.testing.wait import eventually
from ruralfund_funds.app import create_app as funds_app
from ruralfund_notify.app import create_app as notify_app

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
CREDIT_CODE = "91530427MA6K0B0Q1Y"
ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
LEADER = person("Leader Zhao", Role.LEADING_GROUP)
SIGNATORY = person("Signatory Chen", Role.CONTRACTOR_SIGNATORY)
FINANCE = person("Finance Li", Role.FINANCE_BUREAU)
ENTERPRISE = person("Packaging Co", Role.ENTERPRISE, credit_code=CREDIT_CODE)


@pytest.fixture
def spans():
    setup_tracing("tests")
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    record_spans()  # without an exporter spans are not recorded (telemetry._RecordWhenExported)
    yield exporter
    record_spans(False)
    processor.shutdown()


async def test_one_trace_spans_claim_approval_to_payment(spans, nats_url, database_url, namespace, tmp_path):
    kw = {"nats_url": nats_url, "database_url": database_url, "namespace": namespace,
          "dev_clock_file": tmp_path / "clock.json", "calendar_dir": tmp_path / "calendar"}
    async with running_service(claims_app, service_settings("claims", **kw)) as claims, \
            running_service(funds_app, service_settings("funds", **kw)) as funds, \
            running_service(notify_app, service_settings("notify", **kw)):
        await funds.post("/admin/clock", json={"set_to": "2026-03-02T02:00:00Z"}, headers=bearer(ADMIN))
        r = await claims.post("/programs", content=(REPO / "programs/xinping-2021.yaml").read_bytes(),
                              headers={**bearer(ADMIN), "Content-Type": "application/yaml"})
        assert r.status_code == 201, r.text
        r = await claims.post("/enterprises", headers=bearer(ADMIN), json={
            "credit_code": CREDIT_CODE, "name": "新平礼好包装有限公司", "kind": "enterprise",
            "contact": {"name": "李经理", "email": "li@packaging.example"},
            "bank_account": {"bank_name": "中国农业银行新平县支行", "account_no": "6228480000000000001"},
            "program_code": "xinping-2021"})
        assert r.status_code == 201, r.text
        r = await claims.post("/claims", headers=bearer(ENTERPRISE), json={
            "program_code": "xinping-2021", "item_code": "brand-packaging", "evidence": {"quarter": "2023Q3", "units": 12345}})
        claim_id = r.json()["id"]
        await claims.post(f"/claims/{claim_id}/review", json={"outcome": "complete"}, headers=bearer(ADMIN))
        spans.clear()
        r = await claims.post(f"/claims/{claim_id}/decision", json={"decision": "approve"}, headers=bearer(LEADER),)
        assert r.status_code == 200, r.text
        award_id = r.json()["award_id"]
        await eventually(lambda: _window_opened(funds, award_id), timeout=30)

        def trace_of(name_part: str) -> set[int]:
            return {s.context.trace_id for s in spans.get_finished_spans() if name_part in s.name}

        approval = trace_of("/claims/{claim_id}/decision")
        assert len(approval) == 1
        (trace_id,) = approval
        for hop in ("consume claims.evt.claim_approved.v1", "consume notify.evt.publicity_published.v1",
                    "consume funds.evt.publicity_window_opened.v1"):
            assert trace_id in await eventually(lambda hop=hop: trace_of(hop), timeout=10), f"{hop} is not in the approval's trace"

        # the payment, days later and by other people, still belongs to the award's trace
        r = await funds.post("/programs/xinping-2021/releases", headers=bearer(FINANCE),
                             json={"amount_yuan": "1,000,000.00", "approval_reference": "新电商领〔2026〕1号"})
        assert r.status_code == 201, r.text
        await funds.post("/admin/clock", json={"set_to": "2026-03-06T16:00:00Z"}, headers=bearer(ADMIN))
        r = await funds.post("/payments", json={"award_id": award_id}, headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        pid, sha = r.json()["payment_id"], r.json()["content_sha256"]
        for who in (LEADER, SIGNATORY):
            r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": sha}, headers=bearer(who))
            assert r.status_code == 200, r.text
        assert trace_id in await eventually(lambda: trace_of("consume funds.evt.payment_executed.v1"), timeout=20), \
            "the payment is not in the approval's trace"

        metrics = (await funds.get("/metrics")).text
        assert 'ruralfund_messages_handled_total{outcome="processed",service="funds",subject="claims.evt.claim_approved.v1"}' in metrics
        assert "ruralfund_http_request_seconds_bucket" in metrics
        from ruralfund_funds.entrypoints.metrics import refresh

        await refresh(funds.app.state.ctx)
        metrics = (await funds.get("/metrics")).text
        assert any(line.startswith("ruralfund_ledger_balance_fen{") and "bank" in line for line in metrics.splitlines()), \
            [line for line in metrics.splitlines() if "ledger" in line][:20]
        debit = next(line for line in metrics.splitlines() if line.startswith('ruralfund_ledger_postings_fen{program="xinping-2021",side="debit"}'))
        credit = next(line for line in metrics.splitlines() if line.startswith('ruralfund_ledger_postings_fen{program="xinping-2021",side="credit"}'))
        assert debit.split()[-1] == credit.split()[-1], "the trial balance shows in the metrics"


async def _window_opened(funds, award_id):
    r = await funds.get(f"/awards/{award_id}", headers=bearer(ADMIN))
    return r.status_code == 200 and r.json()["status"] == "in_publicity"
