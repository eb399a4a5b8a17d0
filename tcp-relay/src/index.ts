/** Public API of the relay: start it in-process (tests, `npm start`, benchmarks) or from main.ts. */
export { startRelay, type Relay, type RelayDeps, type RelayPorts } from "./relay";
export { ConfigError, DEFAULTS, loadConfig, resolveConfig, type RelayConfig, type RelayOptions } from "./config";
export { RelayClose, RelayError } from "./codes";
export { FrameDecoder, FrameError, encodeFrame, type Framing } from "./framing";
