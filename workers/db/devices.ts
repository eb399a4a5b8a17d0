/** D1 queries on devices. */
import { pb } from "../../proto/gen/pb.js";

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export async function registerDevice(db: D1Database, req: pb.RegisterDeviceReq): Promise<number> {
  const now = nowSeconds();
  const row = await db
    .prepare(
      "INSERT INTO devices (type, brand, model, system_version, sdk_version, brand_push_id, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(req.type, req.brand, req.model, req.systemVersion, req.sdkVersion, req.brandPushId, now, now)
    .first<{ id: number }>();
  if (!row) {
    throw new Error("device insert returned no id");
  }
  return row.id;
}

export async function setPushId(db: D1Database, deviceId: number, brandPushId: string): Promise<void> {
  await db.prepare("UPDATE devices SET brand_push_id = ?, update_time = ? WHERE id = ?").bind(brandPushId, nowSeconds(), deviceId).run();
}

/** Records the user that signed in on a device (gim: a device id is reusable across accounts). */
export async function bindDevice(db: D1Database, deviceId: number, userId: number): Promise<void> {
  await db.prepare("UPDATE devices SET user_id = ?, update_time = ? WHERE id = ?").bind(userId, nowSeconds(), deviceId).run();
}

interface DeviceRow {
  id: number;
  user_id: number;
  type: number;
  brand: string;
  model: string;
  system_version: string;
  sdk_version: string;
  brand_push_id: string;
  create_time: number;
  update_time: number;
}

export async function getDevice(db: D1Database, deviceId: number): Promise<pb.IDevice | null> {
  const row = await db.prepare("SELECT * FROM devices WHERE id = ?").bind(deviceId).first<DeviceRow>();
  return row
    ? {
        deviceId: row.id,
        userId: row.user_id,
        type: row.type,
        brand: row.brand,
        model: row.model,
        systemVersion: row.system_version,
        sdkVersion: row.sdk_version,
        brandPushId: row.brand_push_id,
        createTime: row.create_time,
        updateTime: row.update_time,
      }
    : null;
}
