-- What the push dispatcher holds back from a device in a burst (`burst:{device}` among its
-- remembered states) goes with the device, however it goes: signed out, unregistered, its push
-- service saying it is gone, its sign-in ended or pushed out. The states then hold the devices
-- there are, not every device there ever was.
CREATE TRIGGER devices_forget_burst AFTER DELETE ON devices
BEGIN
    DELETE FROM push_states WHERE tenant_id = OLD.tenant_id AND resource_id = 'burst:' || OLD.id;
END;
