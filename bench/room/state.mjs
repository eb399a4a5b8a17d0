// The state every part of bench/room.mjs shares, in one object passed around: the options, the
// server, the room sockets and their order counters, the phases and the results.

/**
 * The run's state. `config` is what parseOptions returned.
 * subs: room subscribers, index -> { ws, closed, closeInfo }; lastSeq: highest room seq seen per
 *   subscriber (order check over the whole run); phases: every room phase, by id (the id travels
 *   in the message text); current: the phase being measured; sender: { device, sock };
 *   frameCache: the last decoded room frames (see sockets.mjs); quietBudgetEnd: until this time
 *   (the --load-wait budget, shared by all phases), phases wait for a quiet machine.
 */
export function createState(config) {
  return {
    ...config,
    runTag: Math.random().toString(36).slice(2, 8),
    roomId: 1000 + Math.floor(Math.random() * 1e6),
    baseUrl: "",
    server: null,
    stateDir: "",
    workerdPids: [],
    subs: [],
    lastSeq: new Float64Array(0),
    orderViolations: 0,
    seqGaps: 0,
    unknownFrames: 0,
    unexpectedCloses: 0,
    closeCodes: new Map(),
    closing: false,
    phases: [],
    current: null,
    results: { machine: {}, setup: {}, phases: [], findMax: null, pushAll: [] },
    sender: null,
    frameCache: [],
    quietBudgetEnd: 0,
  };
}

/** Auth headers of `device` for the HTTP API. */
export const http = (device) => ({ user_id: String(device.userId), device_id: String(device.deviceId), token: device.token });
