-- Tuning for batch scan ingestion (benchmarks/scans.py), forward-only.

-- Scans keep their station ids without foreign keys. Each scan's station is checked against
-- the registry in the same transaction that stores it, and stations are never deleted (they
-- close), so the keys only re-checked what was checked. They cost ~40 % of a batch insert:
-- every row took a KEY SHARE lock on one of a handful of hot station rows.
ALTER TABLE scans
    DROP CONSTRAINT scans_station_id_fkey,
    DROP CONSTRAINT scans_destination_station_id_fkey;

-- A parcel's row is rewritten once per batch that scans it; most of those updates (town or
-- village arrival) change no indexed column, so free room on the page lets them stay HOT.
ALTER TABLE parcels SET (fillfactor = 70);

-- The scan count a parcel's row was merged from when it was last written: the optimistic
-- check of the one-statement upsert (adapters/parcels.py), with no meaning otherwise.
ALTER TABLE parcels ADD COLUMN merged_from_count int NOT NULL DEFAULT 0;
