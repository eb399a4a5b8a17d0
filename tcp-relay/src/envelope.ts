/**
 * The few envelope reads and writes the relay needs: the packet type of an Input (to answer
 * heartbeats, sign in and route room subscriptions), the header of the first upstream Output,
 * and the Outputs the relay writes itself. Bodies are never re-encoded on the forwarding path.
 */
import { pb } from "../../proto/gen/pb.js";

export { pb };
export const PT = pb.PackageType;

/** Decodes an Input; null when the bytes are not one (the Worker answers those itself). */
export function decodeInput(bytes: Uint8Array): pb.Input | null {
  try {
    return pb.Input.decode(bytes);
  } catch {
    return null;
  }
}

/** Decodes an Output header; null when invalid. */
export function decodeOutput(bytes: Uint8Array): pb.Output | null {
  try {
    return pb.Output.decode(bytes);
  } catch {
    return null;
  }
}

export function decodeSignIn(data: Uint8Array): pb.SignInInput | null {
  try {
    return pb.SignInInput.decode(data);
  } catch {
    return null;
  }
}

export function decodeSubscribeRoom(data: Uint8Array): pb.SubscribeRoomInput | null {
  try {
    return pb.SubscribeRoomInput.decode(data);
  } catch {
    return null;
  }
}

export function encodeOutput(output: pb.IOutput): Uint8Array {
  return pb.Output.encode(output).finish();
}

/**
 * The last frame of a connection the relay closes: `Output{type: PT_UNKNOWN, request_id: 0,
 * code: <close code>, message: <reason>}`. Close codes (1000, 4000-4999) never collide with
 * error codes (below 1000 or 10000 and up), so a client tells the two apart by the code alone.
 */
export function closeNotice(code: number, reason: string): Uint8Array {
  return encodeOutput({ type: PT.PT_UNKNOWN, requestId: 0, code, message: reason });
}
