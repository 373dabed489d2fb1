-- Price transparency (区间价): carriers' published price ranges per weight band, the county's
-- baseline and price target, and the e-commerce enterprises certified for the range prices.
-- Schedules, bands and baselines are append-only: a change is a new version or revision.

CREATE TABLE price_schedules (
    id              uuid PRIMARY KEY,
    carrier_id      uuid NOT NULL REFERENCES center_carriers (id),
    version         int NOT NULL CHECK (version >= 1),
    effective_from  date NOT NULL,
    note            text CHECK (char_length(note) BETWEEN 1 AND 500),
    published_by    text NOT NULL,
    published_at    timestamptz NOT NULL,
    UNIQUE (carrier_id, version)
);
CREATE TRIGGER price_schedules_append_only
    BEFORE UPDATE OR DELETE ON price_schedules FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE price_bands (
    schedule_id  uuid NOT NULL REFERENCES price_schedules (id),
    position     int NOT NULL CHECK (position BETWEEN 0 AND 19),
    up_to_g      int NOT NULL CHECK (up_to_g BETWEEN 1 AND 100000),
    min_fen      bigint NOT NULL CHECK (min_fen >= 1),
    max_fen      bigint NOT NULL CHECK (max_fen <= 1000000),
    PRIMARY KEY (schedule_id, position),
    CHECK (min_fen <= max_fen)
);
CREATE TRIGGER price_bands_append_only
    BEFORE UPDATE OR DELETE ON price_bands FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE price_baselines (
    county_code          text NOT NULL CHECK (county_code ~ '^[0-9]{6}$'),
    revision             int NOT NULL CHECK (revision >= 1),
    target_code          text NOT NULL,
    target_reduction_bp  int NOT NULL CHECK (target_reduction_bp BETWEEN 1 AND 9999),
    reference_weight_g   int NOT NULL CHECK (reference_weight_g BETWEEN 1 AND 100000),
    price_fen            bigint NOT NULL CHECK (price_fen BETWEEN 1 AND 1000000),
    measured             text NOT NULL CHECK (char_length(measured) BETWEEN 1 AND 500),
    correction_reason    text CHECK (char_length(correction_reason) BETWEEN 1 AND 500),
    set_by               text NOT NULL,
    set_at               timestamptz NOT NULL,
    PRIMARY KEY (county_code, revision),
    CHECK ((revision = 1) = (correction_reason IS NULL))
);
CREATE TRIGGER price_baselines_append_only
    BEFORE UPDATE OR DELETE ON price_baselines FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE certified_shippers (
    id             uuid PRIMARY KEY,
    center_id      uuid NOT NULL REFERENCES stations (id),
    credit_code    text NOT NULL CHECK (credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'),
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    certified_on   date NOT NULL,
    revoked_on     date,
    revoke_reason  text CHECK (char_length(revoke_reason) BETWEEN 1 AND 500),
    created_at     timestamptz NOT NULL,
    created_by     text NOT NULL,
    CHECK ((revoked_on IS NULL) = (revoke_reason IS NULL)),
    CHECK (revoked_on IS NULL OR revoked_on >= certified_on)
);
CREATE UNIQUE INDEX certified_shippers_active_once
    ON certified_shippers (center_id, credit_code) WHERE revoked_on IS NULL;
