-- Trace context (W3C traceparent) captured when the event was written, sent as NATS headers.
ALTER TABLE outbox ADD COLUMN headers jsonb NOT NULL DEFAULT '{}';
