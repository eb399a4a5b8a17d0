import { describe, expect, it } from "vitest";
import { canFrame, encodeFrame, FrameDecoder, FrameError, U16_MAX_BODY_BYTES, type Framing } from "../src/framing";

const body = (n: number, fill = 7) => Buffer.alloc(n, fill);

describe.each<Framing>(["u16", "varint"])("%s framing", (framing) => {
  it("round-trips frames of 0, 1, 127, 128, 300 and 65535 bytes", () => {
    for (const n of [0, 1, 127, 128, 300, 65_535]) {
      const decoder = new FrameDecoder(framing, 70_000);
      const frames = decoder.push(encodeFrame(framing, body(n, n % 251)));
      expect(frames).toHaveLength(1);
      expect(frames[0]!.equals(body(n, n % 251))).toBe(true);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it("decodes merged frames in one chunk, in order", () => {
    const decoder = new FrameDecoder(framing, 1024);
    const chunk = Buffer.concat([encodeFrame(framing, body(3, 1)), encodeFrame(framing, body(0)), encodeFrame(framing, body(200, 2))]);
    expect(decoder.push(chunk).map((f) => [f.length, f[0]])).toEqual([[3, 1], [0, undefined], [200, 2]]);
  });

  it("decodes frames split at every byte boundary, headers included", () => {
    const stream = Buffer.concat([encodeFrame(framing, body(200, 1)), encodeFrame(framing, body(5, 2)), encodeFrame(framing, body(130, 3))]);
    for (let cut = 1; cut < stream.length; cut++) {
      const decoder = new FrameDecoder(framing, 1024);
      const frames = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(frames.map((f) => [f.length, f[0]])).toEqual([[200, 1], [5, 2], [130, 3]]);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it("decodes a stream fed one byte at a time and reports the unfinished frame's bytes", () => {
    const stream = Buffer.concat([encodeFrame(framing, body(300, 9)), encodeFrame(framing, body(1, 8))]);
    const decoder = new FrameDecoder(framing, 1024);
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      frames.push(...decoder.push(stream.subarray(i, i + 1)));
      if (i === 10) {
        expect(decoder.pendingBytes).toBe(11);
      }
    }
    expect(frames.map((f) => f.length)).toEqual([300, 1]);
  });

  it("rejects a frame announced over the limit as soon as its header is read", () => {
    const decoder = new FrameDecoder(framing, 100);
    const header = encodeFrame(framing, body(101)).subarray(0, framing === "u16" ? 2 : 1);
    expect(() => decoder.push(header)).toThrow(FrameError);
    try {
      new FrameDecoder(framing, 100).push(encodeFrame(framing, body(101)));
    } catch (err) {
      expect(err).toMatchObject({ kind: "too-large", length: 101 });
    }
  });
});

describe("framing limits", () => {
  it("u16 cannot carry a body over 65535 bytes; varint can", () => {
    expect(canFrame("u16", U16_MAX_BODY_BYTES)).toBe(true);
    expect(canFrame("u16", U16_MAX_BODY_BYTES + 1)).toBe(false);
    expect(() => encodeFrame("u16", body(U16_MAX_BODY_BYTES + 1))).toThrow(RangeError);
    expect(canFrame("varint", 1 << 20)).toBe(true);
    const big = encodeFrame("varint", body(70_000));
    expect([...big.subarray(0, 3)]).toEqual([0xf0, 0xa2, 0x04]);
  });

  it("rejects a varint prefix longer than 5 bytes and a huge varint length", () => {
    expect(() => new FrameDecoder("varint", 1 << 20).push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/longer than 5 bytes/);
    expect(() => new FrameDecoder("varint", 1 << 20).push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(/4294967295 bytes is over/);
  });

  it("writes gim's big-endian 2-byte length", () => {
    expect([...encodeFrame("u16", body(258)).subarray(0, 2)]).toEqual([0x01, 0x02]);
  });
});
