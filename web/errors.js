// Error messages a person can act on, from the SDK's GimError codes (proto/README.md "Error codes").
import { ErrorCode } from "./gim-sdk.js";

const MESSAGES = {
  [ErrorCode.UNAUTHORIZED]: "Your sign-in is no longer valid. Please sign in again.",
  [ErrorCode.BAD_CODE]: "That code is not right. On a local server the code is 0000.",
  [ErrorCode.SIGN_IN_DISABLED]: "This server does not accept sign-in with a code.",
  [ErrorCode.DEVICE_NOT_EXIST]: "This browser tab is not registered on the server. Please sign in again.",
  [ErrorCode.USER_NOT_FOUND]: "There is no such user.",
  [ErrorCode.ALREADY_FRIEND]: "You are already friends.",
  [ErrorCode.FRIEND_REQUEST_NOT_FOUND]: "That friend request is no longer waiting.",
  [ErrorCode.NOT_IN_GROUP]: "You are not a member of this group.",
  [ErrorCode.NOT_GROUP_ADMIN]: "Only the group's admins can do that.",
  [ErrorCode.GROUP_NOT_EXIST]: "This group does not exist any more.",
  [ErrorCode.GROUP_FULL]: "This group is full.",
  [ErrorCode.FRAME_TOO_LARGE]: "That is too long to send.",
  [ErrorCode.UNAVAILABLE]: "The server cannot be reached right now. Check your connection and try again.",
  4: "The server took too long to answer. Please try again.",
  1: "Not connected. Please wait until you are online and try again.",
};

/** One or two sentences for `err`, saying what happened and what to do. */
export function humanError(err) {
  const code = err && typeof err.code === "number" ? err.code : undefined;
  if (code !== undefined && MESSAGES[code]) {
    return MESSAGES[code];
  }
  if (code === ErrorCode.BAD_REQUEST) {
    return `Please check what you entered: ${err.message}.`;
  }
  const detail = err instanceof Error ? err.message : String(err);
  return `Something went wrong (${detail}). Please try again.`;
}
