/**
 * Length-prefixed frames of gim's TCP protocol: the layout (defined once here), an incremental
 * decoder that handles split and merged TCP chunks, and the encoder.
 *
 * | framing  | header                                   | body                       |
 * |----------|------------------------------------------|----------------------------|
 * | `u16`    | 2 bytes, big-endian body length (Era A)  | one protobuf `Input`/`Output` |
 * | `varint` | 1-5 bytes, unsigned LEB128 body length (Eras B/C) | same               |
 */

export type Framing = "u16" | "varint";

export const U16_HEADER_BYTES = 2;
/** The largest body a 2-byte header can announce. */
export const U16_MAX_BODY_BYTES = 0xffff;
/** 5 varint bytes carry 35 bits, far above any frame limit; a longer prefix is garbage. */
export const VARINT_MAX_HEADER_BYTES = 5;
const VARINT_PAYLOAD_BITS = 7;
const VARINT_CONTINUE = 0x80;
const VARINT_VALUE_MASK = 0x7f;
/** Default limit of an inbound frame body (64 KiB, as the Worker's MAX_FRAME_BYTES). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/** A stream that cannot be decoded any further; the connection must close. */
export class FrameError extends Error {
  override readonly name = "FrameError";
  constructor(
    readonly kind: "too-large" | "bad-header",
    /** The announced body length (0 for a bad header). */
    readonly length: number,
    message: string,
  ) {
    super(message);
  }
}

interface Header {
  headerBytes: number;
  bodyBytes: number;
}

/** Reads a header at `offset`; null when the bytes there are not a whole header yet. */
function readHeader(framing: Framing, buf: Buffer, offset: number): Header | null {
  if (framing === "u16") {
    return buf.length - offset < U16_HEADER_BYTES ? null : { headerBytes: U16_HEADER_BYTES, bodyBytes: buf.readUInt16BE(offset) };
  }
  let value = 0;
  for (let i = 0; i < VARINT_MAX_HEADER_BYTES; i++) {
    if (offset + i >= buf.length) {
      return null;
    }
    const byte = buf[offset + i] as number;
    value += (byte & VARINT_VALUE_MASK) * 2 ** (VARINT_PAYLOAD_BITS * i);
    if ((byte & VARINT_CONTINUE) === 0) {
      return { headerBytes: i + 1, bodyBytes: value };
    }
  }
  throw new FrameError("bad-header", 0, `varint length prefix longer than ${VARINT_MAX_HEADER_BYTES} bytes`);
}

/**
 * Incremental decoder for one connection. `push(chunk)` returns the bodies completed by the
 * chunk, in order, as views of the chunk where a frame lies within one chunk (no copy).
 */
export class FrameDecoder {
  /** Pieces of the unfinished frame, header included. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Header + body bytes of the unfinished frame; -1 while its header is incomplete. */
  #frameBytes = -1;
  #headerBytes = 0;

  constructor(
    readonly framing: Framing,
    readonly maxFrameBytes: number,
  ) {}

  /** Bytes of an unfinished frame held (0 between frames). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** @throws FrameError when a header is malformed or announces more than `maxFrameBytes`. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let buf = chunk;
    let offset = 0;
    if (this.#pendingBytes > 0) {
      if (this.#frameBytes < 0) {
        // The header straddles chunks: join the few header bytes held with this chunk.
        buf = Buffer.concat([...this.#pending, chunk]);
        this.#reset();
      } else {
        const missing = this.#frameBytes - this.#pendingBytes;
        if (chunk.length < missing) {
          this.#hold(chunk);
          return frames;
        }
        this.#pending.push(chunk.subarray(0, missing));
        const whole = Buffer.concat(this.#pending, this.#frameBytes);
        frames.push(whole.subarray(this.#headerBytes));
        this.#reset();
        offset = missing;
      }
    }
    while (offset < buf.length) {
      const header = readHeader(this.framing, buf, offset);
      if (!header) {
        this.#hold(buf.subarray(offset));
        break;
      }
      if (header.bodyBytes > this.maxFrameBytes) {
        throw new FrameError("too-large", header.bodyBytes, `frame of ${header.bodyBytes} bytes is over the ${this.maxFrameBytes}-byte limit`);
      }
      const end = offset + header.headerBytes + header.bodyBytes;
      if (end > buf.length) {
        this.#hold(buf.subarray(offset));
        this.#frameBytes = header.headerBytes + header.bodyBytes;
        this.#headerBytes = header.headerBytes;
        break;
      }
      frames.push(buf.subarray(offset + header.headerBytes, end));
      offset = end;
    }
    return frames;
  }

  #hold(piece: Buffer): void {
    this.#pending.push(piece);
    this.#pendingBytes += piece.length;
  }

  #reset(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#frameBytes = -1;
    this.#headerBytes = 0;
  }
}

/** Bytes of the varint encoding of `n`. */
function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= VARINT_CONTINUE) {
    n = Math.floor(n / VARINT_CONTINUE);
    bytes++;
  }
  return bytes;
}

/** Whether a body of `length` bytes fits the framing's header. */
export function canFrame(framing: Framing, length: number): boolean {
  return framing === "varint" || length <= U16_MAX_BODY_BYTES;
}

/**
 * Header + body in one buffer (one write, one syscall).
 * @throws RangeError when the body does not fit a 2-byte header (check with canFrame first).
 */
export function encodeFrame(framing: Framing, body: Uint8Array): Buffer {
  if (framing === "u16") {
    if (body.length > U16_MAX_BODY_BYTES) {
      throw new RangeError(`a body of ${body.length} bytes does not fit a 2-byte length`);
    }
    const out = Buffer.allocUnsafe(U16_HEADER_BYTES + body.length);
    out.writeUInt16BE(body.length, 0);
    out.set(body, U16_HEADER_BYTES);
    return out;
  }
  const headerBytes = varintBytes(body.length);
  const out = Buffer.allocUnsafe(headerBytes + body.length);
  let n = body.length;
  for (let i = 0; i < headerBytes; i++) {
    const low = n % VARINT_CONTINUE;
    n = Math.floor(n / VARINT_CONTINUE);
    out[i] = i < headerBytes - 1 ? low | VARINT_CONTINUE : low;
  }
  out.set(body, headerBytes);
  return out;
}
