// The state every part of bench/one-to-one.mjs shares, in one object passed around, and a
// phase's counters and samples.

/**
 * The run's state. devices: one entry per device (its socket, owner, and what it received);
 * devicesOfUser: userId -> indexes into devices; userIds: all user ids; messages: clientMsgId ->
 * record of one sent message (across all phases); phase: the phase being measured.
 */
export function createState(opts) {
  return {
    opts,
    devices: [],
    devicesOfUser: new Map(),
    userIds: [],
    messages: new Map(),
    phase: null,
    msgCounter: 0,
    runTag: Math.random().toString(36).slice(2, 8),
    closing: false,
    unexpectedCloses: 0,
  };
}

/** A phase's counters and samples: `rate` msg/s offered for `seconds`. */
export function newPhase(name, rate, seconds) {
  return {
    name,
    rate,
    seconds,
    sent: 0,
    skipped: 0,
    replies: 0,
    errors: 0,
    errorSamples: new Map(),
    replyFailures: 0,
    expected: 0,
    deliveries: 0,
    duplicates: 0,
    wrongDevice: 0,
    unknown: 0,
    late: 0,
    latency: [],
    latencyReceiver: [],
    latencyOwn: [],
    replyLatency: [],
    firstSendAt: 0,
    lastSendAt: 0,
    lastDeliveryAt: 0,
    outstandingReplies: 0,
    records: [],
    timeline: [],
  };
}
