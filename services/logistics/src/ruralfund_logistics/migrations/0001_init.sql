-- Logistics: the three-tier station network, stations' monthly volumes, and the county
-- center's carriers and retail partnerships. search_path is the logistics schema.
-- The domain checks every rule first; these constraints are the backstop against bugs and races.

CREATE TABLE stations (
    id                    uuid PRIMARY KEY,
    county_code           text NOT NULL CHECK (county_code ~ '^[0-9]{6}$'),
    tier                  text NOT NULL CHECK (tier IN ('county_center', 'town', 'village')),
    parent_id             uuid REFERENCES stations (id),
    name                  text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    address               text NOT NULL CHECK (char_length(address) BETWEEN 1 AND 200),
    geo_lat               double precision CHECK (geo_lat BETWEEN -90 AND 90),
    geo_lon               double precision CHECK (geo_lon BETWEEN -180 AND 180),
    operator_credit_code  text CHECK (operator_credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'),
    contact_name          text CHECK (char_length(contact_name) BETWEEN 1 AND 50),
    contact_phone         text CHECK (char_length(contact_phone) BETWEEN 5 AND 30),
    opened_on             date NOT NULL,
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    closed_on             date,
    close_reason          text CHECK (char_length(close_reason) BETWEEN 1 AND 500),
    created_at            timestamptz NOT NULL,
    created_by            text NOT NULL,
    -- only the county center is a root; which tier a parent must have is checked in the domain
    CHECK ((tier = 'county_center') = (parent_id IS NULL)),
    CHECK ((geo_lat IS NULL) = (geo_lon IS NULL)),
    CHECK ((status = 'closed') = (closed_on IS NOT NULL AND close_reason IS NOT NULL)),
    CHECK (closed_on IS NULL OR closed_on >= opened_on)
);
-- one county center per county (a closed one may be replaced)
CREATE UNIQUE INDEX stations_one_active_center_per_county
    ON stations (county_code) WHERE tier = 'county_center' AND status = 'active';
CREATE UNIQUE INDEX stations_active_name_under_parent
    ON stations (parent_id, lower(name)) WHERE status = 'active' AND parent_id IS NOT NULL;
CREATE INDEX stations_by_parent ON stations (parent_id);
CREATE INDEX stations_by_operator ON stations (operator_credit_code) WHERE operator_credit_code IS NOT NULL;

-- Append-only: a correction is a new revision with its reason, never an UPDATE.
CREATE TABLE station_volume_reports (
    id                 uuid PRIMARY KEY,
    station_id         uuid NOT NULL REFERENCES stations (id),
    year               int NOT NULL CHECK (year BETWEEN 2014 AND 2100),
    month              int NOT NULL CHECK (month BETWEEN 1 AND 12),
    revision           int NOT NULL CHECK (revision >= 1),
    volume_fen         bigint NOT NULL CHECK (volume_fen BETWEEN 0 AND 1000000000000),
    parcels            bigint NOT NULL CHECK (parcels BETWEEN 0 AND 100000000),
    correction_reason  text CHECK (char_length(correction_reason) BETWEEN 1 AND 500),
    reported_by        text NOT NULL,
    reported_at        timestamptz NOT NULL,
    UNIQUE (station_id, year, month, revision),
    CHECK ((revision = 1) = (correction_reason IS NULL))
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER station_volume_reports_append_only
    BEFORE UPDATE OR DELETE ON station_volume_reports FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE center_carriers (
    id           uuid PRIMARY KEY,
    center_id    uuid NOT NULL REFERENCES stations (id),
    kind         text NOT NULL CHECK (kind IN ('express', 'bulk_freight')),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    credit_code  text CHECK (credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'),
    settled_on   date NOT NULL,
    left_on      date,
    created_at   timestamptz NOT NULL,
    created_by   text NOT NULL,
    CHECK (left_on IS NULL OR left_on >= settled_on)
);
CREATE UNIQUE INDEX center_carriers_present_once
    ON center_carriers (center_id, kind, lower(name)) WHERE left_on IS NULL;

CREATE TABLE retail_partnerships (
    id                   uuid PRIMARY KEY,
    center_id            uuid NOT NULL REFERENCES stations (id),
    partner_name         text NOT NULL CHECK (char_length(partner_name) BETWEEN 1 AND 100),
    partner_credit_code  text CHECK (partner_credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'),
    started_on           date NOT NULL,
    ended_on             date,
    created_at           timestamptz NOT NULL,
    created_by           text NOT NULL,
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);
CREATE UNIQUE INDEX retail_partnerships_running_once
    ON retail_partnerships (center_id, lower(partner_name)) WHERE ended_on IS NULL;
