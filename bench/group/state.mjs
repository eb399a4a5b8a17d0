// The state every part of bench/group.mjs shares, in one object passed around: the options, the
// member devices, every message record, run counters and the server; plus a phase's counters and
// the sums over its records.
import { now } from "../lib.mjs";

/**
 * The run's state. `config` is what parseOptions returned.
 * members: online member devices { index, userId, deviceId, token, sock, pushes: seq[], pushOrder,
 *   own: Set<seq>, ... }; byCid: clientMsgId -> message record (all phases); records: every
 *   record in send order; current: the phase being measured (null between phases).
 */
export function createState(config) {
  return {
    ...config,
    members: [],
    byCid: new Map(),
    records: [],
    current: null,
    noticeCount: 0,
    unknownPushes: 0,
    unexpectedCloses: 0,
    closing: false,
    groupId: 0,
    runTag: Math.random().toString(36).slice(2, 8),
    msgCounter: 0,
    results: { machine: {}, setup: {}, phases: [] },
    workerdPids: [],
    server: null,
    stateDir: "",
    baseUrl: "",
  };
}

/** Starts phase `name` (it becomes `st.current`); `extra` adds fields such as `rate`. */
export function newPhase(st, name, extra = {}) {
  const p = {
    name,
    startAt: now(),
    firstSendAt: 0,
    lastSendAt: 0,
    lastDeliveryAt: 0,
    sent: 0,
    skipped: 0,
    errors: 0,
    errorSamples: new Map(),
    noReply: 0,
    deliveries: 0,
    duplicates: 0,
    ownPush: 0,
    late: 0,
    latency: [],
    replyLatency: [],
    /** Deliveries per 100 ms since startAt. */
    buckets: [],
    records: [],
    ...extra,
  };
  st.current = p;
  return p;
}

/** Messages answered with an error are not expected anywhere; unanswered ones (no reply) still are. */
export const counted = (r) => r.code === 0 || r.code === -1 || r.code === -2;
export const expectedOf = (p) => p.records.reduce((n, r) => n + (counted(r) ? r.expected : 0), 0);
export const receivedOf = (p) => p.records.reduce((n, r) => n + (counted(r) ? r.count : 0), 0);
export const repliesPending = (p) => p.records.some((r) => r.code === -1);
