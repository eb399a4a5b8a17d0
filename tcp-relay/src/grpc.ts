/**
 * gRPC listener: gim's client-facing services (pb.LogicExt, pb.BusinessExt) forwarded call by
 * call to the Worker's Connect unary endpoints. Messages stay bytes (identity serializers); the
 * method names come from the .proto files, so a new rpc needs no relay change.
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RelayContext } from "./context";

/** The services forwarded, with the file that declares each. */
export const FORWARDED_SERVICES = { LogicExt: "logic.ext.proto", BusinessExt: "business.ext.proto" } as const;
/** gim's credential metadata, sent on as headers of the same names. */
const FORWARDED_METADATA = ["user_id", "device_id", "token", "request_id"];
/** The Worker refuses bodies over 1 MiB; refuse them here already. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Connect code names map 1:1 to gRPC status codes. */
const CONNECT_CODES: Record<string, grpc.status> = {
  canceled: grpc.status.CANCELLED,
  unknown: grpc.status.UNKNOWN,
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
  not_found: grpc.status.NOT_FOUND,
  already_exists: grpc.status.ALREADY_EXISTS,
  permission_denied: grpc.status.PERMISSION_DENIED,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  aborted: grpc.status.ABORTED,
  out_of_range: grpc.status.OUT_OF_RANGE,
  unimplemented: grpc.status.UNIMPLEMENTED,
  internal: grpc.status.INTERNAL,
  unavailable: grpc.status.UNAVAILABLE,
  data_loss: grpc.status.DATA_LOSS,
  unauthenticated: grpc.status.UNAUTHENTICATED,
};

/** Connect's mapping for an error body that is not Connect JSON (e.g. a proxy's page). */
function codeForHttpStatus(status: number): grpc.status {
  const table: Record<number, grpc.status> = { 400: grpc.status.INTERNAL, 401: grpc.status.UNAUTHENTICATED, 403: grpc.status.PERMISSION_DENIED, 404: grpc.status.UNIMPLEMENTED, 429: grpc.status.UNAVAILABLE, 502: grpc.status.UNAVAILABLE, 503: grpc.status.UNAVAILABLE, 504: grpc.status.UNAVAILABLE };
  return table[status] ?? grpc.status.UNKNOWN;
}

/** `rpc Name (` entries of `service <name> { … }` in a .proto file. */
export function readServiceMethods(protoDir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [service, file] of Object.entries(FORWARDED_SERVICES)) {
    const text = readFileSync(join(protoDir, file), "utf8").replace(/\/\/.*$/gm, "");
    const body = new RegExp(`service\\s+${service}\\s*\\{([^}]*)\\}`).exec(text)?.[1];
    if (!body) {
      throw new Error(`service ${service} not found in ${join(protoDir, file)}`);
    }
    out[service] = [...body.matchAll(/rpc\s+(\w+)\s*\(/g)].map((m) => m[1] as string);
  }
  return out;
}

const identity = (bytes: Buffer): Buffer => bytes;

/** A generic service definition: unary methods whose messages are raw bytes. */
export function bytesService(service: string, methods: string[]): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  for (const method of methods) {
    definition[method] = {
      path: `/pb.${service}/${method}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
      originalName: method,
    };
  }
  return definition;
}

function callError(code: grpc.status, details: string, gimCode?: number): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (gimCode !== undefined) {
    metadata.set("gim-code", String(gimCode));
  }
  return { code, details, metadata };
}

function timeoutFor(call: grpc.ServerUnaryCall<Buffer, Buffer>, maxMs: number): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? Math.max(1, Math.min(maxMs, at - Date.now())) : maxMs;
}

/** POSTs one call to `<worker>/pb.<service>/<method>` and returns the response bytes. */
async function forward(ctx: RelayContext, path: string, call: grpc.ServerUnaryCall<Buffer, Buffer>): Promise<Buffer> {
  const headers: Record<string, string> = { "content-type": "application/proto", "x-gim-relay": ctx.config.instanceId };
  for (const name of FORWARDED_METADATA) {
    const value = call.metadata.get(name)[0];
    if (value !== undefined) {
      headers[name] = String(value);
    }
  }
  let res: Response;
  try {
    res = await fetch(`${ctx.config.workerUrl}${path}`, { method: "POST", headers, body: call.request, signal: AbortSignal.timeout(timeoutFor(call, ctx.config.grpcTimeoutMs)) });
  } catch (err) {
    const timedOut = (err as Error).name === "TimeoutError";
    throw callError(timedOut ? grpc.status.DEADLINE_EXCEEDED : grpc.status.UNAVAILABLE, timedOut ? "upstream timed out" : `upstream unavailable: ${(err as Error).message}`);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.ok) {
    return bytes;
  }
  let body: { code?: unknown; message?: unknown; gimCode?: unknown } = {};
  try {
    body = JSON.parse(bytes.toString("utf8")) as typeof body;
  } catch {
    // not a Connect error body: the HTTP status decides
  }
  const code = (typeof body.code === "string" ? CONNECT_CODES[body.code] : undefined) ?? codeForHttpStatus(res.status);
  const message = typeof body.message === "string" ? body.message : `HTTP ${res.status}`;
  throw callError(code, message, typeof body.gimCode === "number" ? body.gimCode : undefined);
}

export interface GrpcListener {
  port: number;
  stop(graceMs: number): Promise<void>;
}

/** Binds the gRPC server on `host:port` (0 = any free port). */
export async function startGrpc(ctx: RelayContext, host: string, port: number): Promise<GrpcListener> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": MAX_MESSAGE_BYTES });
  const counters = ctx.metrics.listeners.grpc;
  for (const [service, methods] of Object.entries(readServiceMethods(ctx.config.protoDir))) {
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of methods) {
      const path = `/pb.${service}/${method}`;
      handlers[method] = ((call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        counters.framesIn++;
        counters.bytesIn += call.request.length;
        forward(ctx, path, call).then(
          (bytes) => {
            counters.framesOut++;
            counters.bytesOut += bytes.length;
            ctx.metrics.grpcCall(`${service}/${method}`, "OK");
            callback(null, bytes);
          },
          (err: Partial<grpc.StatusObject>) => {
            ctx.metrics.grpcCall(`${service}/${method}`, grpc.status[err.code ?? grpc.status.UNKNOWN] ?? "UNKNOWN");
            callback(err);
          },
        );
      }) as grpc.handleUnaryCall<Buffer, Buffer>;
    }
    server.addService(bytesService(service, methods), handlers);
  }
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, actual) => (err ? reject(err) : resolve(actual)));
  });
  return {
    port: bound,
    async stop(graceMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
