/** Group messages with is_persist=false: pushed to the members online now, nothing stored. */
import type { Env } from "../../workers/env";
import { userInbox } from "../../workers/stubs";

const CONCURRENCY = 64;

/** Pushes `body` to every member's online devices, except the sending device. */
export async function pushTransient(env: Env, memberIds: number[], body: Uint8Array, senderId: number, senderDeviceId: number): Promise<void> {
  for (let i = 0; i < memberIds.length; i += CONCURRENCY) {
    await Promise.all(
      memberIds.slice(i, i + CONCURRENCY).map((id) =>
        userInbox(env, id)
          .pushTransient(body, id === senderId ? senderDeviceId : 0)
          .catch((err: unknown) => console.warn(`group transient push to user ${id} failed`, err)),
      ),
    );
  }
}
