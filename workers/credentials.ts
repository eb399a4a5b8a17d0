/** The ids in a request's credentials (gim's metadata `user_id`, `device_id`). */

/** A user or device id as credentials carry it: decimal digits only, else 0 (refused). */
export function credentialId(text: string): number {
  const id = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : 0;
  return Number.isSafeInteger(id) ? id : 0;
}
