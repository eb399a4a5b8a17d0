// Shared helpers of the benchmarks, one import for every script: options and statistics
// (lib/util.mjs), the server and its HTTP API (lib/server.mjs), a device's socket client
// (lib/device-socket.mjs), and machine and workerd process figures (lib/machine.mjs).
// Every target is 127.0.0.1; every wait has a deadline.
import { pb } from "../proto/gen/pb.js";

export { pb };
export const PT = pb.PackageType;
export * from "./lib/util.mjs";
export * from "./lib/server.mjs";
export * from "./lib/device-socket.mjs";
export * from "./lib/machine.mjs";
