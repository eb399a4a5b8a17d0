/** Helpers for the client tests: SDK clients on `ws`, unique users, waits with timeouts. */
import { inject } from "vitest";
import WebSocket from "ws";
import { GimClient } from "../../sdk/src/client";
import { decodeContent } from "../../sdk/src/content";
import type { pb } from "../../proto/gen/pb.js";
import type { GimClientOptions } from "../../sdk/src/options";
import { MemorySeqStore } from "../../sdk/src/seq-store";
import type { WebSocketConstructor } from "../../sdk/src/transport";

export const baseUrl = (): string => inject("baseUrl");

let counter = 0;
/** A phone number no other test run uses. */
export function uniquePhone(): string {
  counter += 1;
  return `3${String(Date.now() % 1e8).padStart(8, "0")}${String(counter).padStart(4, "0")}`;
}

/** A client on the `ws` package with quick reconnects, for tests. */
export function newClient(options: Partial<GimClientOptions> = {}): GimClient {
  return new GimClient({
    baseUrl: baseUrl(),
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    seqStore: new MemorySeqStore(),
    reconnectMinDelayMs: 50,
    reconnectMaxDelayMs: 1_000,
    ...options,
  });
}

/** A new user signed in on a new client (not connected). */
export async function signedIn(options: Partial<GimClientOptions> = {}, phone = uniquePhone()): Promise<GimClient> {
  const client = newClient(options);
  await client.signIn({ phoneNumber: phone, code: "0000" });
  return client;
}

/** Polls `check` until it returns a truthy value; fails after `timeoutMs` naming `what` (and `detail()`). */
export async function waitFor<T>(
  check: () => T | undefined | null | false,
  what: string,
  timeoutMs = 15_000,
  detail: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${detail()}`.trim());
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every "message" event of a client, as they come. */
export function recordMessages(client: GimClient): pb.Message[] {
  const messages: pb.Message[] = [];
  client.on("message", (m) => messages.push(m));
  return messages;
}

/** The text of an MT_TEXT message ("" for others). */
export function textOf(message: pb.Message): string {
  const content = decodeContent(message);
  return content.type === "text" ? content.text : "";
}
