-- A device is registered under the sign-in that registered it, and ends with it: signing out
-- (even from a phone that is offline, whose own unregistering never arrives), a reused refresh
-- token, a sign-in pushed out past the most a person keeps, or its expiry. Before, a device
-- belonged to its person, and a phone signed out went on showing the organisation's requests
-- on its lock screen and counting its person as reachable. Devices registered before this
-- belong to no sign-in and stay until the app registers again (at its next start), since
-- tying one to a guessed sign-in could end an on-call's phone with their laptop's.
ALTER TABLE devices ADD COLUMN session_id TEXT REFERENCES sessions(id) ON DELETE CASCADE;
CREATE INDEX devices_by_session ON devices (session_id);

-- One install is one device per organisation, not across them: a registration in another
-- organisation sits beside it (a phone signed in to two, or someone elsewhere who learned the
-- token), where it took the device away and its person silently stopped being paged.
ALTER TABLE devices DROP CONSTRAINT devices_platform_address_key;
ALTER TABLE devices ADD CONSTRAINT devices_by_address UNIQUE (tenant_id, platform, address);
