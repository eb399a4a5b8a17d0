// A Connect client generated from proto/ (buf + protoc-gen-es v2, see buf.gen.yaml) must work
// unchanged against the server's HTTP API, in both the JSON and the binary (application/proto)
// encodings. The generated code lives in test/node/gen/ (gitignored) and is generated here,
// before the tests import it, so `npm test` works from a fresh clone.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type CallOptions, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, inject, it } from "vitest";
// Type-only imports are erased, so they need the generated files only for type checking.
import type * as BusinessExtPb from "./gen/business.ext_pb.js";
import type * as ConnectExtPb from "./gen/connect.ext_pb.js";
import type * as LogicExtPb from "./gen/logic.ext_pb.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

let businessPb: typeof BusinessExtPb;
let connectPb: typeof ConnectExtPb;
let logicPb: typeof LogicExtPb;

beforeAll(async () => {
  execFileSync("npm", ["run", "--silent", "gen:connect-client"], { cwd: repoRoot, stdio: "inherit" });
  businessPb = await import("./gen/business.ext_pb.js");
  connectPb = await import("./gen/connect.ext_pb.js");
  logicPb = await import("./gen/logic.ext_pb.js");
});

/** Runs `call`, expecting it to reject with a ConnectError of `code`. */
async function expectConnectError(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  const connectErr = err as ConnectError;
  expect(Code[connectErr.code]).toBe(Code[code]);
  return connectErr;
}

// Unique per run and per encoding: the server state is shared by all node tests.
const runId = Date.now();

describe.each([
  { name: "JSON", useBinaryFormat: false, tag: 1 },
  { name: "binary", useBinaryFormat: true, tag: 2 },
])("generated Connect client ($name)", ({ useBinaryFormat, tag }) => {
  let logic: Client<typeof LogicExtPb.LogicExt>;
  let business: Client<typeof BusinessExtPb.BusinessExt>;
  const alicePhone = `${runId}${tag}1`;
  const bobPhone = `${runId}${tag}2`;

  interface Session {
    deviceId: bigint;
    userId: bigint;
    token: string;
    opts: CallOptions;
  }
  let aliceSession: Session | undefined;
  let bobSession: Session | undefined;
  /** The sessions the first test signs in; later tests need them. */
  const sessions = (): { alice: Session; bob: Session } => {
    if (!aliceSession || !bobSession) {
      throw new Error("no sessions: the sign-in test failed");
    }
    return { alice: aliceSession, bob: bobSession };
  };

  beforeAll(() => {
    const transport = createConnectTransport({ baseUrl: inject("baseUrl"), httpVersion: "1.1", useBinaryFormat });
    logic = createClient(logicPb.LogicExt, transport);
    business = createClient(businessPb.BusinessExt, transport);
  });

  async function registerDevice(): Promise<bigint> {
    const res = await logic.registerDevice({
      type: 5,
      brand: "vitest",
      model: "connect-node",
      systemVersion: process.version,
      sdkVersion: "connect-es-2.2.0",
    });
    expect(typeof res.deviceId).toBe("bigint");
    expect(res.deviceId).toBeGreaterThan(0n);
    return res.deviceId;
  }

  async function signIn(phoneNumber: string, deviceId: bigint): Promise<Session & { isNew: boolean }> {
    const res = await business.signIn({ phoneNumber, code: "0000", deviceId });
    expect(typeof res.userId).toBe("bigint");
    expect(res.userId).toBeGreaterThan(0n);
    expect(res.token).toMatch(/.+/);
    const opts: CallOptions = {
      headers: { user_id: String(res.userId), device_id: String(deviceId), token: res.token },
    };
    return { isNew: res.isNew, deviceId, userId: res.userId, token: res.token, opts };
  }

  it("registers devices and signs in (new user, then the same user again)", async () => {
    const aliceDevice = await registerDevice();
    const first = await signIn(alicePhone, aliceDevice);
    expect(first.isNew).toBe(true);

    const again = await signIn(alicePhone, aliceDevice);
    expect(again.isNew).toBe(false);
    expect(again.userId).toBe(first.userId);
    expect(again.token).not.toBe(first.token);
    aliceSession = again;

    const bobDevice = await registerDevice();
    expect(bobDevice).not.toBe(aliceDevice);
    const bobSignIn = await signIn(bobPhone, bobDevice);
    expect(bobSignIn.isNew).toBe(true);
    expect(bobSignIn.userId).not.toBe(again.userId);
    bobSession = bobSignIn;
  });

  it("updates the caller's profile and gets users by id", async () => {
    const { alice, bob } = sessions();
    const res = await business.updateUser({ nickname: `alice-${tag}`, sex: 2, avatarUrl: "", extra: "" }, alice.opts);
    expect(res.$typeName).toBe("pb.Empty");
    await business.updateUser({ nickname: `bob-${tag}`, sex: 1 }, bob.opts);

    const me = await business.getUser({ userId: alice.userId }, alice.opts);
    expect(me.user?.userId).toBe(alice.userId);
    expect(me.user?.nickname).toBe(`alice-${tag}`);
    expect(me.user?.sex).toBe(2);

    // user_id 0 means the caller.
    const self = await business.getUser({}, alice.opts);
    expect(self.user?.userId).toBe(alice.userId);
    expect(self.user?.nickname).toBe(`alice-${tag}`);

    // Another user's id returns that user, not the caller (gim's bug).
    const other = await business.getUser({ userId: bob.userId }, alice.opts);
    expect(other.user?.userId).toBe(bob.userId);
    expect(other.user?.nickname).toBe(`bob-${tag}`);
    expect(other.user?.sex).toBe(1);
  });

  it("sends messages with increasing seqs and dedups a repeated client_msg_id", async () => {
    const { alice, bob } = sessions();
    const content = (text: string) => toBinary(connectPb.TextSchema, create(connectPb.TextSchema, { text }));
    const send = (clientMsgId: string, text: string) =>
      logic.sendMessage(
        {
          receiverType: connectPb.ReceiverType.RT_USER,
          receiverId: bob.userId,
          messageType: connectPb.MessageType.MT_TEXT,
          messageContent: content(text),
          isPersist: true,
          clientMsgId,
        },
        alice.opts,
      );

    const first = await send(`${runId}-${tag}-a`, "hello bob");
    expect(first.seq).toBe(1n);
    const second = await send(`${runId}-${tag}-b`, "still there?");
    expect(second.seq).toBe(2n);
    const retry = await send(`${runId}-${tag}-a`, "hello bob");
    expect(retry.seq).toBe(1n);
  });

  // protobufjs encodes strings of 40+ characters through Buffer#utf8Write, which behaves
  // differently under workerd; these values are within the server's limits.
  it("round-trips string fields of 40 and more characters", async () => {
    const { alice, bob } = sessions();
    const nickname = `${tag}`.padEnd(64, "n");
    await business.updateUser({ nickname }, alice.opts);
    const me = await business.getUser({}, alice.opts);
    expect(me.user?.nickname).toBe(nickname);

    const clientMsgId = `${runId}-${tag}-`.padEnd(64, "c");
    const send = () =>
      logic.sendMessage(
        {
          receiverType: connectPb.ReceiverType.RT_USER,
          receiverId: bob.userId,
          messageType: connectPb.MessageType.MT_TEXT,
          messageContent: toBinary(connectPb.TextSchema, create(connectPb.TextSchema, { text: "t".repeat(100) })),
          isPersist: true,
          clientMsgId,
        },
        alice.opts,
      );
    expect((await send()).seq).toBe(3n);
    expect((await send()).seq).toBe(3n);
  });

  it("maps errors without a session to Connect codes", async () => {
    const device = await registerDevice();
    const wrongCode = await expectConnectError(
      business.signIn({ phoneNumber: `${runId}${tag}3`, code: "9999", deviceId: device }),
      Code.Unauthenticated,
    );
    expect(wrongCode.rawMessage).toBe("wrong verification code");

    // No credentials.
    await expectConnectError(business.getUser({ userId: 1n }), Code.Unauthenticated);
    await expectConnectError(
      logic.sendMessage({ receiverType: connectPb.ReceiverType.RT_USER, receiverId: 1n, messageType: connectPb.MessageType.MT_TEXT, isPersist: true }),
      Code.Unauthenticated,
    );

    // An invalid field.
    await expectConnectError(
      logic.registerDevice({ type: 0, brand: "vitest", model: "connect-node", systemVersion: "1", sdkVersion: "1" }),
      Code.InvalidArgument,
    );
  });

  it("maps errors of signed-in calls to Connect codes", async () => {
    const { alice } = sessions();
    // A forged token.
    await expectConnectError(
      business.getUser({}, { headers: { user_id: String(alice.userId), device_id: String(alice.deviceId), token: "forged" } }),
      Code.Unauthenticated,
    );
    // A receiver that does not exist.
    await expectConnectError(
      logic.sendMessage(
        {
          receiverType: connectPb.ReceiverType.RT_USER,
          receiverId: 9_000_000_000_000n + BigInt(tag),
          messageType: connectPb.MessageType.MT_TEXT,
          messageContent: toBinary(connectPb.TextSchema, create(connectPb.TextSchema, { text: "anyone?" })),
          isPersist: true,
          clientMsgId: `${runId}-${tag}-nobody`,
        },
        alice.opts,
      ),
      Code.NotFound,
    );
    // A user id that does not exist.
    await expectConnectError(business.getUser({ userId: 9_000_000_000_000n }, alice.opts), Code.NotFound);
  });
});
