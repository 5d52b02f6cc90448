-- Which destination types exist is decided by the code's registry (src/destinations/index.ts), which the service
-- checks before every write. A CHECK list here repeated it, and made adding a destination need a migration.
ALTER TABLE batch_export_destinations DROP CONSTRAINT IF EXISTS batch_export_destinations_type_check;
