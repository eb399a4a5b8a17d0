// Room sockets of bench/room.mjs (`/room`, read diffusion through ChatRoom + RoomShard
// objects): opening and closing them, taking in their frames, and GetRoomInfo.
import WebSocket from "ws";
import { call, now, pb, PT, waitFor, whenOpen } from "../lib.mjs";
import { http } from "./state.mjs";

/**
 * Frames are identical on every socket (the shard encodes a batch once), so the last decoded
 * frame is kept and a byte-equal frame reuses it: the client spends its CPU on receiving, not
 * on decoding the same bytes 5,000 times. Every frame is still compared in full.
 */
const FRAME_CACHE = 8;

function decodeRoomFrame(st, data) {
  const frameCache = st.frameCache;
  for (const entry of frameCache) {
    if (entry.bytes.length === data.length && entry.bytes.equals(data)) {
      return entry.parsed;
    }
  }
  let parsed = null;
  try {
    const out = pb.Output.decode(data);
    if (out.type === PT.PT_MESSAGE) {
      const { message } = pb.MessageSend.decode(out.data);
      const text = pb.Text.decode(message.messageContent).text;
      const [tag, phaseId, k, sentAt] = text.split(":");
      parsed = { seq: Number(message.seq), tag, phaseId: Number(phaseId), k: Number(k), sentAt: Number(sentAt), receiverType: message.receiverType, receiverId: Number(message.receiverId) };
    } else {
      parsed = { other: out.type, code: out.code };
    }
  } catch (err) {
    parsed = { error: String(err) };
  }
  frameCache.unshift({ bytes: Buffer.from(data), parsed });
  if (frameCache.length > FRAME_CACHE) {
    frameCache.pop();
  }
  return parsed;
}

/** A frame on room socket `idx`: order over the run, then the delivery of its phase's message. */
function onRoomFrame(st, idx, data, isBinary) {
  const recvAt = now();
  if (!isBinary) {
    return; // "pong"
  }
  const f = decodeRoomFrame(st, data);
  if (f.error || f.other !== undefined || f.tag !== st.runTag || f.receiverId !== st.roomId) {
    st.unknownFrames++;
    return;
  }
  // Order over the whole run: room seqs strictly increasing on every socket.
  const prev = st.lastSeq[idx];
  if (f.seq <= prev) {
    st.orderViolations++;
  } else {
    if (prev > 0 && f.seq !== prev + 1) {
      st.seqGaps++;
    }
    st.lastSeq[idx] = f.seq;
  }
  const p = st.phases[f.phaseId];
  if (!p || !(f.k >= 0 && f.k < p.cap)) {
    st.unknownFrames++;
    return;
  }
  if (f.seq <= prev) {
    p.orderViolations++;
  }
  const slot = idx * p.cap + f.k;
  if (p.recv[slot]) {
    p.duplicates++;
    return;
  }
  p.recv[slot] = 1;
  if (p.seqOf[f.k] === 0) {
    p.seqOf[f.k] = f.seq;
  } else if (p.seqOf[f.k] !== f.seq) {
    p.seqMismatch++;
  }
  p.deliveries++;
  if (p !== st.current) {
    p.late++;
  }
  const latency = recvAt - f.sentAt;
  p.latency[p.latencyCount++] = latency;
  p.count[f.k]++;
  if (recvAt > p.lastRecv[f.k]) {
    p.lastRecv[f.k] = recvAt;
  }
  if (recvAt > p.lastDeliveryAt) {
    p.lastDeliveryAt = recvAt;
  }
  const b = Math.floor((recvAt - p.startAt) / 100);
  p.buckets[b] = (p.buckets[b] ?? 0) + 1;
}

/** Opens room socket `idx` for `device` (seq 0); it becomes st.subs[idx] once open. */
export async function openRoomSocket(st, idx, device, timeoutMs = 60_000) {
  const url = `${st.baseUrl.replace(/^http/, "ws")}/room?room_id=${st.roomId}&seq=0&user_id=${device.userId}&device_id=${device.deviceId}&token=${encodeURIComponent(device.token)}`;
  const ws = new WebSocket(url, { perMessageDeflate: st.opts.deflate, handshakeTimeout: timeoutMs });
  const sub = { ws, closed: false, closeInfo: null };
  const opened = whenOpen(ws, "room upgrade");
  ws.on("close", (code, reason) => {
    sub.closed = true;
    sub.closeInfo = { code, reason: reason.toString() };
    if (!st.closing) {
      st.unexpectedCloses++;
      const key = `${code} ${reason.toString()}`.trim();
      st.closeCodes.set(key, (st.closeCodes.get(key) ?? 0) + 1);
    }
  });
  ws.on("message", (data, isBinary) => onRoomFrame(st, idx, data, isBinary));
  await opened;
  st.subs[idx] = sub;
  return sub;
}

/** Closes every room socket (terminates those not closed within 30 s); false if some were. */
export async function closeRoomSockets(st) {
  const { subs } = st;
  st.closing = true;
  for (const sub of subs) {
    if (sub && !sub.closed) {
      sub.ws.close(1000, "bench done");
    }
  }
  const ok = await waitFor(() => subs.every((s) => !s || s.closed), 30_000, 50);
  if (!ok) {
    for (const sub of subs) {
      if (sub && !sub.closed) {
        sub.ws.terminate();
      }
    }
  }
  st.closing = false;
  return ok;
}

/** GetRoomInfo as `device`: { subscribers, seq }. */
export async function roomInfo(st, device) {
  const info = await call(st.baseUrl, "/pb.LogicExt/GetRoomInfo", { roomId: String(st.roomId) }, http(device), 30_000);
  return { subscribers: Number(info.subscriberCount ?? 0), seq: Number(info.seq ?? 0) };
}
