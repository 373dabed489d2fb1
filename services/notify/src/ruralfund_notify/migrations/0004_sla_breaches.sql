-- Missed delivery deadlines (logistics.evt.delivery_sla_breached.v1), one row per parcel,
-- until a periodic summary mails them to the bureau (summary_id set in the same transaction
-- that queues the mail). period_end is the end of the reporting period of the deadline.
CREATE TABLE sla_summaries (
    id           uuid PRIMARY KEY,
    period_from  timestamptz NOT NULL,
    period_to    timestamptz NOT NULL,
    breaches     int NOT NULL CHECK (breaches > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (period_from < period_to)
);

CREATE TABLE sla_breaches (
    parcel_id               text PRIMARY KEY,
    county_code             text NOT NULL,
    destination_station_id  text,
    town_station_id         text,
    left_center_at          timestamptz NOT NULL,
    deadline_at             timestamptz NOT NULL,
    detected_at             timestamptz NOT NULL,
    last_scan_kind          text,
    period_end              timestamptz NOT NULL,
    event_id                text NOT NULL,
    summary_id              uuid REFERENCES sla_summaries (id),
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sla_breaches_unreported ON sla_breaches (period_end) WHERE summary_id IS NULL;
