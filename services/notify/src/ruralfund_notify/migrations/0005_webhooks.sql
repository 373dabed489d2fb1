-- Webhook subscriptions of other systems, their deliveries (one per event and subscription,
-- written in the transaction that handled or emitted the event) and every attempt made.
-- The secret is kept in clear: it signs each delivery (HMAC needs the key itself).
CREATE TABLE webhook_subscriptions (
    id           uuid PRIMARY KEY,
    url          text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    event_types  text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 50),
    secret       text NOT NULL CHECK (secret LIKE 'whsec\_%'),
    description  text CHECK (length(description) <= 200),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz
);
CREATE INDEX webhook_subscriptions_active_types ON webhook_subscriptions USING gin (event_types)
    WHERE disabled_at IS NULL;

-- next_attempt_at and delivered_at are operational wall-clock times (database now()), like
-- mail: moving a dev clock must not starve or flood the sender.
CREATE TABLE webhook_deliveries (
    id                uuid PRIMARY KEY,  -- the webhook-id header
    subscription_id   uuid NOT NULL REFERENCES webhook_subscriptions (id),
    event_id          text NOT NULL,
    event_type        text NOT NULL,
    body              text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts          int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    replays           int NOT NULL DEFAULT 0 CHECK (replays >= 0),
    next_attempt_at   timestamptz,
    last_status_code  int,
    last_error        text,
    dead_reason       text,
    delivered_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subscription_id, event_id),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL)),
    CHECK ((status = 'dead') = (dead_reason IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries (subscription_id, id);

CREATE TABLE webhook_attempts (
    id                bigserial PRIMARY KEY,
    delivery_id       uuid NOT NULL REFERENCES webhook_deliveries (id),
    attempt           int NOT NULL CHECK (attempt >= 1),  -- within the current round (a replay starts a new one)
    replay            int NOT NULL CHECK (replay >= 0),
    webhook_timestamp bigint NOT NULL,
    address           text,
    status_code       int,
    error             text,
    duration_ms       int NOT NULL CHECK (duration_ms >= 0),
    response_excerpt  text,
    attempted_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);
