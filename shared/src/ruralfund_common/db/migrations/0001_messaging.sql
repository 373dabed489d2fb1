-- Messaging tables every service schema carries (search_path is the service schema).

-- Transactional outbox: written in the same transaction as the state change.
-- seq is a gapless per-subject sequence assigned by the relay before publishing, so consumers
-- can detect a lost message (JetStream may lose acknowledged writes) and ask for a re-publish.
CREATE TABLE outbox (
    id          uuid PRIMARY KEY,
    subject     text NOT NULL,
    envelope    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    seq         bigint,
    sent_at     timestamptz,
    UNIQUE (subject, seq)
);
CREATE INDEX outbox_unsequenced ON outbox (id) WHERE seq IS NULL;
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL AND seq IS NOT NULL;

CREATE TABLE outbox_sequence (
    subject   text PRIMARY KEY,
    last_seq  bigint NOT NULL CHECK (last_seq >= 0)
);

-- Inbox: one row per handled message id, written in the handler's transaction.
CREATE TABLE inbox (
    message_id    text NOT NULL,
    consumer      text NOT NULL,
    subject       text NOT NULL,
    producer_seq  bigint,
    outcome       text NOT NULL CHECK (outcome IN ('processed', 'dead_lettered')),
    reason        text,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

-- Last producer sequence applied per consumer and subject: the gap detector.
CREATE TABLE inbox_cursor (
    consumer  text NOT NULL,
    subject   text NOT NULL,
    last_seq  bigint NOT NULL CHECK (last_seq >= 0),
    PRIMARY KEY (consumer, subject)
);

-- HTTP Idempotency-Key replay store.
CREATE TABLE idempotency_keys (
    principal     text NOT NULL,
    key           text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request_hash  text NOT NULL,
    status        int NOT NULL,
    response      jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
