-- Parcel scans and the tracks folded from them (the 24-hour promise), and the scans refused.
-- The domain (domain/scans.py, parcels.py, sla.py) decides; these constraints are the backstop.

-- Every accepted scan, once (scan_id is the sender's idempotency key). Append-only.
CREATE TABLE scans (
    scan_id                 text PRIMARY KEY CHECK (char_length(scan_id) BETWEEN 1 AND 64),
    parcel_id               text NOT NULL CHECK (char_length(parcel_id) BETWEEN 1 AND 64),
    station_id              uuid NOT NULL REFERENCES stations (id),
    kind                    text NOT NULL CHECK (kind IN ('received_at_center', 'left_center',
                                'arrived_at_town', 'arrived_at_village', 'delivered', 'returned')),
    scanned_at              timestamptz NOT NULL,
    destination_station_id  uuid REFERENCES stations (id),
    batch_id                text NOT NULL,
    recorded_at             timestamptz NOT NULL
);
CREATE INDEX scans_by_parcel ON scans (parcel_id, scanned_at);
CREATE TRIGGER scans_append_only
    BEFORE UPDATE OR DELETE ON scans FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- One row per parcel: for each kind of scan the first time and station it happened, the latest
-- scan, the latest declared destination. Each is a min or a max over the scans, so the row is
-- the same whatever order the scans came in.
CREATE TABLE parcels (
    parcel_id                text PRIMARY KEY,
    county_code              text NOT NULL CHECK (county_code ~ '^[0-9]{6}$'),
    received_at              timestamptz,
    received_station_id      uuid,
    left_center_at           timestamptz,
    center_station_id        uuid,
    town_arrived_at          timestamptz,
    town_station_id          uuid,
    village_arrived_at       timestamptz,
    village_station_id       uuid,
    delivered_at             timestamptz,
    delivered_station_id     uuid,
    returned_at              timestamptz,
    returned_station_id      uuid,
    declared_destination_id  uuid,
    declared_at              timestamptz,
    declared_scan_id         text,
    last_scan_at             timestamptz NOT NULL,
    last_scan_kind           text NOT NULL,
    last_scan_id             text NOT NULL,
    last_station_id          uuid NOT NULL,
    destination_station_id   uuid,         -- delivered ?? reached village ?? declared
    scan_count               int NOT NULL CHECK (scan_count >= 1),
    deadline_at              timestamptz,  -- left_center_at + 24 h (the domain's rule)
    sla_outcome              text CHECK (sla_outcome IN ('open', 'on_time', 'late', 'returned')),
    breach_emitted_at        timestamptz,  -- DeliverySlaBreached written to the outbox: once
    updated_at               timestamptz NOT NULL,
    CHECK ((left_center_at IS NULL) = (deadline_at IS NULL)),
    CHECK ((left_center_at IS NULL) = (sla_outcome IS NULL)),
    CHECK (breach_emitted_at IS NULL OR left_center_at IS NOT NULL),
    CHECK ((received_at IS NULL) = (received_station_id IS NULL)),
    CHECK ((left_center_at IS NULL) = (center_station_id IS NULL)),
    CHECK ((town_arrived_at IS NULL) = (town_station_id IS NULL)),
    CHECK ((village_arrived_at IS NULL) = (village_station_id IS NULL)),
    CHECK ((delivered_at IS NULL) = (delivered_station_id IS NULL)),
    CHECK ((returned_at IS NULL) = (returned_station_id IS NULL))
);
-- What the breach sweep scans: parcels whose breach may still be due, by deadline. Parcels
-- delivered on time or already reported leave this index.
CREATE INDEX parcels_breach_watch ON parcels (deadline_at)
    WHERE sla_outcome IN ('open', 'late') AND breach_emitted_at IS NULL;
-- The on-time rates: a county's parcels by the time they left the center.
CREATE INDEX parcels_by_departure ON parcels (county_code, left_center_at)
    WHERE left_center_at IS NOT NULL;

-- Scans refused from NATS command batches (an HTTP caller gets them in the response instead).
-- Keyed by message and position, so a redelivered command records nothing twice.
CREATE TABLE rejected_scans (
    batch_id     text NOT NULL,
    position     int NOT NULL CHECK (position >= 0),
    source       text NOT NULL,
    scan_id      text,
    code         text NOT NULL,
    field        text NOT NULL,
    reason       text NOT NULL,
    scan         jsonb NOT NULL,
    rejected_at  timestamptz NOT NULL,
    PRIMARY KEY (batch_id, position)
);
CREATE INDEX rejected_scans_by_time ON rejected_scans (rejected_at);
