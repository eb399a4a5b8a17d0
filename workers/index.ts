/** Worker entry: the HTTP app and the Durable Object classes (names = wrangler class_name). */
import { app } from "./app";

export { GroupChat } from "../durable-objects/group-chat/group-chat";
export { UserInbox } from "../durable-objects/user-inbox/user-inbox";
export default app;
