"""Traces and metrics for every service.

Traces: OpenTelemetry. An HTTP request has a server span (FastAPI's built-in instrumentation,
continuing a caller's ``traceparent``); an event written to the outbox carries the current trace context in its row,
the relay sends it as the ``traceparent`` header, and the consumer continues the trace, so a
claim approval, the reservation, the publicity notice and the window are one trace. Spans are
exported by OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set;
otherwise they exist only to put trace ids into the logs.

Metrics: Prometheus (``/metrics``): messages handled and failed by subject and outcome, handling
time, consumer lag, HTTP requests and latency, outbox throughput and backlog, plus whatever a
service registers (funds: ledger totals).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    SamplingResult,
)
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "CONSUMER_LAG",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "MESSAGES_HANDLED",
    "MESSAGE_SECONDS",
    "OUTBOX_BACKLOG",
    "OUTBOX_PUBLISHED",
    "REPAIR_ANSWERS_REJECTED",
    "SEQUENCE_GAPS_ACCEPTED",
    "SEQUENCE_GAP_MESSAGES",
    "TAIL_REPAIRS",
    "TracingMiddleware",
    "extract_context",
    "inject_context",
    "log_trace_ids",
    "metrics_response",
    "record_spans",
    "register_gauges",
    "setup_tracing",
    "tracer",
]

_provider_ready = False


class _RecordWhenExported(Sampler):
    """Root spans are recorded only when something exports them.

    Without an exporter a recorded span is pure cost: a non-recorded span still has a valid
    trace id, which the logs carry and ``traceparent`` passes on to the events, so correlation
    works either way.
    """

    def __init__(self) -> None:
        self.recording = False

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return (ALWAYS_ON if self.recording else ALWAYS_OFF).should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return f"RecordWhenExported(recording={self.recording})"


_root_sampler = _RecordWhenExported()


def record_spans(on: bool = True) -> None:
    """Record spans from now on: an exporter was added (OTLP at start-up, or a test's)."""
    _root_sampler.recording = on


def setup_tracing(service: str) -> None:
    """Install the process's tracer provider once (several in-process services share it)."""
    global _provider_ready
    if _provider_ready or isinstance(trace.get_tracer_provider(), TracerProvider):
        _provider_ready = True
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"ruralfund-{service}",
                                                       "service.namespace": "ruralfund"}),
                              sampler=ParentBased(_root_sampler))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        record_spans()
    trace.set_tracer_provider(provider)
    _provider_ready = True


def tracer() -> trace.Tracer:
    return trace.get_tracer("ruralfund")


def inject_context() -> dict[str, str]:
    """The current trace context as W3C headers (``traceparent``), for an outbox row."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, str] | None) -> otel_context.Context:
    return propagate.extract(dict(headers or {}))


def log_trace_ids(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: every log line carries the current trace and span ids."""
    span = trace.get_current_span()
    ctx = span.get_span_context()
    if ctx.is_valid:
        event.setdefault("trace_id", format(ctx.trace_id, "032x"))
        event.setdefault("span_id", format(ctx.span_id, "016x"))
    return event


# -- metrics ----------------------------------------------------------------------------------
MESSAGES_HANDLED = Counter("ruralfund_messages_handled_total", "Messages handled by consumers",
                           ["service", "subject", "outcome"])
TAIL_REPAIRS = Counter("ruralfund_sequence_tail_repairs_total",
                       "Idle consumers found the producer past their cursor (a lost tail) and asked a re-publish",
                       ["service", "subject"])
REPAIR_ANSWERS_REJECTED = Counter(
    "ruralfund_repair_answers_rejected_total",
    "Answers on the repair channel (_rf.republish.<owner>) ignored: unsigned, untrusted or wrong signer, "
    "bad signature, another request's nonce (replay), stale or malformed", ["service", "subject", "reason"])
SEQUENCE_GAPS_ACCEPTED = Counter(
    "ruralfund_sequence_gaps_accepted_total",
    "Sequence gaps a consumer skipped on its owner's signed statement that they were pruned (table inbox_gaps)",
    ["service", "subject"])
SEQUENCE_GAP_MESSAGES = Counter(
    "ruralfund_sequence_gap_messages_total", "Producer sequences skipped in accepted gaps (never applied)",
    ["service", "subject"])
MESSAGE_SECONDS = Histogram("ruralfund_message_handle_seconds", "Time to handle one message",
                            ["service", "subject"], buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
CONSUMER_LAG = Gauge("ruralfund_consumer_lag_messages", "Messages not yet acknowledged by a durable consumer",
                     ["service", "consumer"])
HTTP_REQUESTS = Counter("ruralfund_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_SECONDS = Histogram("ruralfund_http_request_seconds", "HTTP request latency", ["service", "method", "route"],
                         buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
OUTBOX_PUBLISHED = Counter("ruralfund_outbox_published_total", "Outbox rows published to JetStream", ["service"])
OUTBOX_BACKLOG = Gauge("ruralfund_outbox_backlog_rows", "Outbox rows not yet published", ["service"])


class _CallbackGauges(Collector):
    def __init__(self, name: str, doc: str, labels: list[str], read: Callable[[], Iterable[tuple[list[str], float]]]):
        self.name, self.doc, self.labels, self.read = name, doc, labels, read

    def collect(self):
        family = GaugeMetricFamily(self.name, self.doc, labels=self.labels)
        for label_values, value in self.read():
            family.add_metric(label_values, value)
        yield family


_registered: dict[str, _CallbackGauges] = {}


def register_gauges(name: str, doc: str, labels: list[str],
                    read: Callable[[], Iterable[tuple[list[str], float]]]) -> None:
    """A gauge family computed at scrape time from a snapshot the service keeps up to date
    (scrapes must not query the database synchronously). Re-registering replaces the reader."""
    if name in _registered:
        _registered[name].read = read
        return
    collector = _CallbackGauges(name, doc, labels, read)
    REGISTRY.register(collector)
    _registered[name] = collector


def metrics_response() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


MAX_CACHED_LABEL_SETS = 1_000


class TracingMiddleware:
    """Pure ASGI: request counters and latency labelled by the route template (not the raw
    path). The HTTP server span itself comes from FastAPI's built-in OpenTelemetry support
    (it continues a caller's ``traceparent`` and is the current span in the endpoint, so the
    outbox rows written by the request carry its trace)."""

    def __init__(self, app: Any, service: str) -> None:
        self.app, self.service = app, service
        # labelled children, looked up once per (method, route, status) rather than per request
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_status(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope.get("method", "GET")
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            if route not in ("/metrics", "/healthz", "/readyz"):
                key = (method, route, status["code"])
                children = self._children.get(key)
                if children is None:
                    children = (HTTP_REQUESTS.labels(self.service, method, route, str(status["code"])),
                                HTTP_SECONDS.labels(self.service, method, route))
                    if len(self._children) < MAX_CACHED_LABEL_SETS:  # odd methods must not grow it
                        self._children[key] = children
                children[0].inc()
                children[1].observe(time.perf_counter() - started)
