/** Worker entry: the HTTP app and the Durable Object classes (names = wrangler class_name). */
import { app } from "./app";

export { ChatRoom } from "../durable-objects/chat-room/chat-room";
export { RoomShard } from "../durable-objects/chat-room/room-shard";
export { GroupChat } from "../durable-objects/group-chat/group-chat";
export { Presence } from "../durable-objects/presence/presence";
export { UserInbox } from "../durable-objects/user-inbox/user-inbox";
export default app;
