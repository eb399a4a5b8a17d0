/** The operations endpoint: Prometheus metrics, health and readiness, fleet and device lookups. */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { Metrics } from "./metrics";
import type { Store } from "./store";

export interface OpsState {
  metrics: Metrics;
  store: Store;
  isDraining(): boolean;
}

async function serve(state: OpsState, url: string, res: ServerResponse): Promise<void> {
  const path = new URL(url, "http://relay").pathname;
  const draining = state.isDraining();
  if (path === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(state.metrics.render());
  } else if (path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  } else if (path === "/readyz") {
    res.writeHead(draining ? 503 : 200, { "content-type": "text/plain" }).end(draining ? "draining\n" : "ready\n");
  } else if (path === "/fleet") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(await state.store.fleet()));
  } else if (/^\/devices\/\d+$/.test(path)) {
    const location = await state.store.lookupDevice(Number(path.split("/")[2]));
    res.writeHead(location ? 200 : 404, { "content-type": "application/json" }).end(JSON.stringify(location ?? { error: "device not held by any relay" }));
  } else {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }
}

/** Listens on `host:port` (0 = any free port); resolves the server and the bound port. */
export async function startOpsServer(state: OpsState, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    serve(state, req.url ?? "/", res).catch(() => res.writeHead(500).end("error\n"));
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once("error", reject).listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
  return { server, port: bound };
}
