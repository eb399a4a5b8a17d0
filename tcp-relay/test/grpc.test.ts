import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesService, readServiceMethods } from "../src/grpc";
import type { Relay } from "../src/relay";
import { connectSignedIn, pb, startTestRelay, stopRelays, textOf, uniquePhone } from "./helpers";

let relay: Relay;
type BytesClient = grpc.Client & Record<string, (req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void>;
let logic: BytesClient;
let business: BytesClient;

beforeAll(async () => {
  relay = await startTestRelay({ grpcPort: 0 });
  const methods = readServiceMethods(relay.config.protoDir);
  const address = `127.0.0.1:${relay.ports.grpc}`;
  const credentials = grpc.credentials.createInsecure();
  logic = new (grpc.makeGenericClientConstructor(bytesService("LogicExt", methods.LogicExt!), "LogicExt"))(address, credentials) as BytesClient;
  business = new (grpc.makeGenericClientConstructor(bytesService("BusinessExt", methods.BusinessExt!), "BusinessExt"))(address, credentials) as BytesClient;
});
afterAll(async () => {
  logic?.close();
  business?.close();
  await stopRelays();
});

function call(client: BytesClient, method: string, request: Uint8Array, metadata: Record<string, string> = {}): Promise<Buffer> {
  const md = new grpc.Metadata();
  Object.entries(metadata).forEach(([k, v]) => md.set(k, v));
  return new Promise((resolve, reject) => {
    client[method]!(Buffer.from(request), md, (err, res) => (err ? reject(err) : resolve(res as Buffer)));
  });
}

async function register(phone: string) {
  const device = pb.RegisterDeviceResp.decode(await call(logic, "RegisterDevice", pb.RegisterDeviceReq.encode({ type: 1, brand: "b", model: "m", systemVersion: "1", sdkVersion: "1" }).finish()));
  const signIn = pb.SignInResp.decode(await call(business, "SignIn", pb.SignInReq.encode({ phoneNumber: phone, code: "0000", deviceId: device.deviceId }).finish()));
  return { userId: signIn.userId, deviceId: device.deviceId, token: signIn.token, phone };
}

const auth = (d: { userId: number; deviceId: number; token: string }) => ({ user_id: String(d.userId), device_id: String(d.deviceId), token: d.token });

describe("gRPC listener (pb.LogicExt, pb.BusinessExt forwarded as bytes)", () => {
  it("serves every rpc of the two .proto files", () => {
    const methods = readServiceMethods(relay.config.protoDir);
    expect(methods.LogicExt).toEqual(expect.arrayContaining(["RegisterDevice", "SendMessage", "PushRoom", "GetFriends", "CreateGroup"]));
    expect(methods.BusinessExt).toEqual(["SignIn", "GetUser", "UpdateUser", "SearchUser"]);
  });

  it("registers, signs in and sends a message with a real gRPC client; the receiver gets it over TCP", async () => {
    const alice = await register(uniquePhone());
    const bob = await register(uniquePhone());
    expect(alice.userId).toBeGreaterThan(0);
    const bobSocket = await connectSignedIn(relay.ports.tcp[0]!, bob);
    const req = pb.SendMessageReq.encode({ receiverType: pb.ReceiverType.RT_USER, receiverId: bob.userId, messageType: pb.MessageType.MT_TEXT, messageContent: pb.Text.encode({ text: "over gRPC" }).finish(), isPersist: true }).finish();
    const res = pb.SendMessageResp.decode(await call(logic, "SendMessage", req, auth(alice)));
    expect(res.seq).toBeGreaterThan(0);
    const [m] = await bobSocket.pushes(1);
    expect(textOf(m!)).toBe("over gRPC");
    const user = pb.GetUserResp.decode(await call(business, "GetUser", pb.GetUserReq.encode({ userId: alice.userId }).finish(), auth(alice)));
    expect(user.user?.userId).toBe(alice.userId);
    bobSocket.end();
  });

  it("maps a wrong sign-in code to UNAUTHENTICATED with the message and the gim code in trailers", async () => {
    const device = pb.RegisterDeviceResp.decode(await call(logic, "RegisterDevice", pb.RegisterDeviceReq.encode({ type: 1, brand: "b", model: "m", systemVersion: "1", sdkVersion: "1" }).finish()));
    const err = (await call(business, "SignIn", pb.SignInReq.encode({ phoneNumber: uniquePhone(), code: "9999", deviceId: device.deviceId }).finish()).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toMatch(/code/i);
    expect(err.metadata.get("gim-code")).toEqual(["10010"]);
  });

  it("maps missing credentials to UNAUTHENTICATED and an invalid body to INVALID_ARGUMENT", async () => {
    const missing = (await call(logic, "GetFriends", new Uint8Array()).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(missing.code).toBe(grpc.status.UNAUTHENTICATED);
    const garbage = (await call(logic, "RegisterDevice", Buffer.from([0xff, 0xff, 0xff])).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("answers an unknown method with UNIMPLEMENTED", async () => {
    const Other = grpc.makeGenericClientConstructor(bytesService("LogicExt", ["NoSuchMethod"]), "LogicExt");
    const client = new Other(`127.0.0.1:${relay.ports.grpc}`, grpc.credentials.createInsecure()) as BytesClient;
    const err = (await call(client, "NoSuchMethod", new Uint8Array()).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    client.close();
  });
});
