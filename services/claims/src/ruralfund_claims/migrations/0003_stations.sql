-- Stations as logistics registers them (logistics.evt.station_registered.v1): the county a
-- station belongs to, so a program's targets count only its own county's stations.
CREATE TABLE stations (
    station_id            text PRIMARY KEY,
    name                  text NOT NULL,
    tier                  text NOT NULL,
    county_code           text NOT NULL CHECK (county_code ~ '^[0-9]{6}$'),
    operator_credit_code  text,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX stations_by_county ON stations (county_code);
