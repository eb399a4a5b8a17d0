// Types the `cloudflare:test` env and `cloudflare:workers` exports with this Worker's bindings.
import type { Env as WorkerEnv } from "../../workers/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
    interface GlobalProps {
      mainModule: typeof import("../../workers/index");
    }
  }
}
