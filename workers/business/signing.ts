/**
 * Signatures between this server and the business server, both directions: HMAC-SHA256 over
 * "<timestamp>.<body>" with the shared secret, in `x-gim-timestamp` (ms) and `x-gim-signature`
 * (hex). A signature older or newer than SIGNATURE_WINDOW_MS is refused (replays).
 */

export const SIGNATURE_WINDOW_MS = 5 * 60_000;

async function hmac(secret: string, timestamp: string, body: Uint8Array): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const prefix = new TextEncoder().encode(`${timestamp}.`);
  const data = new Uint8Array(prefix.length + body.length);
  data.set(prefix);
  data.set(body, prefix.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
}

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/** Headers that sign `body` now. */
export async function signatureHeaders(secret: string, body: Uint8Array, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = String(now);
  return { "x-gim-timestamp": timestamp, "x-gim-signature": hex(await hmac(secret, timestamp, body)) };
}

/** Whether `headers` carry a valid, fresh signature of `body`. */
export async function verifySignature(secret: string, headers: Headers, body: Uint8Array, now = Date.now()): Promise<boolean> {
  const timestamp = headers.get("x-gim-timestamp") ?? "";
  const signature = headers.get("x-gim-signature") ?? "";
  if (!/^\d{1,16}$/.test(timestamp) || Math.abs(now - Number(timestamp)) > SIGNATURE_WINDOW_MS || !/^[0-9a-f]{64}$/.test(signature)) {
    return false;
  }
  const expected = await hmac(secret, timestamp, body);
  const given = new Uint8Array(signature.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
  return crypto.subtle.timingSafeEqual(expected, given);
}
