import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { RelayClose } from "../src/codes";
import type { Relay } from "../src/relay";
import { PT, pb, signIn, startTestRelay, stopRelays, textOf, until, type Device } from "./helpers";

let relay: Relay;

beforeAll(async () => {
  relay = await startTestRelay({ wsPort: 0, maxFrameBytes: 4096 });
});
afterAll(stopRelays);

/** A gim web client: connects without credentials, signs in with its first binary packet. */
class WebClient {
  readonly outputs: pb.Output[] = [];
  readonly texts: string[] = [];
  closed: { code: number; reason: string } | null = null;
  #requestId = 1;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary) => (isBinary ? this.outputs.push(pb.Output.decode(data)) : this.texts.push(data.toString())));
    ws.on("close", (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  static async open(path = "/ws"): Promise<WebClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${relay.ports.ws}${path}`);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    return new WebClient(ws);
  }

  async request(type: pb.PackageType, data: Uint8Array = new Uint8Array()): Promise<pb.Output> {
    const requestId = ++this.#requestId;
    this.ws.send(pb.Input.encode({ type, requestId, data }).finish());
    return until(() => this.outputs.find((o) => o.requestId === requestId), `reply ${requestId}`);
  }

  signIn(device: Device): Promise<pb.Output> {
    return this.request(PT.PT_SIGN_IN, pb.SignInInput.encode({ userId: device.userId, deviceId: device.deviceId, token: device.token }).finish());
  }
}

describe("gim-compatible WebSocket listener", () => {
  it("signs in with the first binary packet (no credentials in the URL), sends and receives", async () => {
    const [alice, bob] = await Promise.all([signIn(), signIn()]);
    const [a, b] = await Promise.all([WebClient.open(), WebClient.open()]);
    expect((await a.signIn(alice)).code).toBe(0);
    expect((await b.signIn(bob)).code).toBe(0);
    const send = pb.SendMessageReq.encode({ receiverType: pb.ReceiverType.RT_USER, receiverId: bob.userId, messageType: pb.MessageType.MT_TEXT, messageContent: pb.Text.encode({ text: "hi from the web" }).finish(), isPersist: true }).finish();
    expect((await a.request(PT.PT_SEND_MESSAGE, send)).code).toBe(0);
    const push = await until(() => b.outputs.find((o) => o.type === PT.PT_MESSAGE), "push");
    expect(textOf(pb.MessageSend.decode(push.data).message!)).toBe("hi from the web");
    expect((await b.request(PT.PT_HEARTBEAT)).code).toBe(0);
    b.ws.send("ping");
    await until(() => b.texts.includes("pong"), "pong");
    a.ws.close();
    b.ws.close();
  });

  it("closes with the gim code in an Output and a WebSocket close when sign-in fails", async () => {
    const alice = await signIn();
    const client = await WebClient.open();
    const reply = await client.signIn({ ...alice, token: "nope" });
    expect(reply).toMatchObject({ type: PT.PT_SIGN_IN, code: 10000 });
    await until(() => client.closed, "close");
    expect(client.closed!.code).toBe(RelayClose.AUTH_FAILED);
  });

  it("answers text frames other than ping with 10001 and keeps the socket; refuses oversized frames with 10002 and closes", async () => {
    const alice = await signIn();
    const client = await WebClient.open();
    expect((await client.signIn(alice)).code).toBe(0);
    client.ws.send('{"type":"PT_SYNC"}');
    const bad = await until(() => client.outputs.find((o) => o.code === 10001), "10001");
    expect(bad.message).toMatch(/binary/);
    client.ws.send(Buffer.alloc(5000, 1));
    const tooLarge = await until(() => client.outputs.find((o) => o.code === 10002), "10002");
    expect(tooLarge.message).toMatch(/5000 bytes is over the 4096-byte limit/);
    await until(() => client.closed, "close");
    expect(client.closed!.code).toBe(RelayClose.PROTOCOL_VIOLATION);
  });

  it("refuses other paths with 404", async () => {
    await expect(WebClient.open("/other")).rejects.toThrow(/404/);
  });
});
