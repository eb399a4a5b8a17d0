/** Worker entry: the HTTP app and the Durable Object classes (names = wrangler class_name). */
import { app } from "./app";

export { UserInbox } from "../durable-objects/user-inbox/user-inbox";
export default app;
