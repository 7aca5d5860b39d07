-- The owner's tenant-wide settings (spartex_api::TenantSettings) as JSON; NULL is the defaults.
ALTER TABLE tenants ADD COLUMN settings TEXT;
