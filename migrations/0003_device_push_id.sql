-- The vendor push id (APNs/FCM/…) of a device, named in message events while it is offline.
ALTER TABLE devices ADD COLUMN brand_push_id TEXT NOT NULL DEFAULT '';
