/** Client sockets of an object: typed attachments, pushes encoded once per format, closing. */
import { CloseCode } from "../../proto/codes";
import { pb } from "../../proto/gen/pb.js";
import { encodeOutput, type FrameFormat } from "./frames";
import { messageSendBytes } from "./message-bytes";

/** Survives hibernation (serializeAttachment). */
export interface SocketAttachment {
  v: 1;
  deviceId: number;
  format: FrameFormat;
  connectedAt: number;
  /** Last inbound frame other than the auto-answered text ping. */
  lastSeenAt: number;
  /** The room this connection is subscribed to; 0 = none (one room per connection, as gim). */
  roomId?: number;
  /** The user, on sockets of objects not owned by one user (room shards). */
  userId?: number;
}

export const deviceTag = (deviceId: number): string => `device:${deviceId}`;

const attachments = new WeakMap<WebSocket, SocketAttachment>();

export function readAttachment(ws: WebSocket): SocketAttachment | null {
  let attachment = attachments.get(ws);
  if (!attachment) {
    const raw = ws.deserializeAttachment() as SocketAttachment | null;
    if (!raw || raw.v !== 1) {
      return null;
    }
    attachment = raw;
    attachments.set(ws, attachment);
  }
  return attachment;
}

export function writeAttachment(ws: WebSocket, attachment: SocketAttachment): void {
  attachments.set(ws, attachment);
  ws.serializeAttachment(attachment);
}

/** Closes a socket; a socket already closing throws, which is not an error here. */
export function closeWith(ws: WebSocket, code: CloseCode | number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // already closed
  }
}

export function sendQuietly(ws: WebSocket, frame: string | Uint8Array): void {
  try {
    ws.send(frame);
  } catch {
    // the socket is closing; its device catches up by sync on reconnect
  }
}

/**
 * Pushes stored messages (encoded pb.Message with seq) to every open device socket except
 * `exceptDeviceId`. Each frame is encoded once per format, not once per socket.
 */
export function pushToDevices(sockets: WebSocket[], bodies: readonly Uint8Array[], exceptDeviceId = 0): void {
  for (const body of bodies) {
    const reply = { type: pb.PackageType.PT_MESSAGE, requestId: 0, data: messageSendBytes(body), dataType: pb.MessageSend };
    let binary: Uint8Array | undefined;
    let json: string | undefined;
    for (const ws of sockets) {
      const attachment = readAttachment(ws);
      if (!attachment || attachment.deviceId === exceptDeviceId) {
        continue;
      }
      if (attachment.format === "json") {
        json ??= encodeOutput(reply, "json") as string;
        sendQuietly(ws, json);
      } else {
        binary ??= encodeOutput(reply, "binary") as Uint8Array;
        sendQuietly(ws, binary);
      }
    }
  }
}

/**
 * Closes sockets that sent nothing (not even a text ping, which the runtime answers without
 * waking the object) for `idleMs`.
 */
export function closeIdleSockets(ctx: DurableObjectState, idleMs: number, now: number): void {
  for (const ws of ctx.getWebSockets()) {
    const pinged = ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    const lastSeen = Math.max(readAttachment(ws)?.lastSeenAt ?? 0, pinged);
    if (now - lastSeen > idleMs) {
      closeWith(ws, CloseCode.IDLE_TIMEOUT, "idle timeout: nothing received");
    }
  }
}
