// A fault-injecting, request-logging reverse proxy in front of a test registry, so the real docker
// client sees real 429s, 5xx, resets and stalls, and tests can show which requests a pull made
// (a warm prepull of pinned tags must make none).
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface LoggedRequest {
  method: string;
  path: string;
  status: number | "reset" | "stall";
  /** Requests being answered when this one arrived (for concurrency checks). */
  inFlight: number;
  /** Repositories with a manifest or blob request in flight when this one arrived (itself included). */
  reposInFlight: string[];
  at: number;
}

export type FaultAction =
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  | { kind: "reset" }
  | { kind: "stall" }
  /** Hold the request this long, then pass it through (latency; this kernel has no netem). */
  | { kind: "delay"; ms: number }
  /** Pass the request through and add these headers to the answer (Docker Hub's ratelimit-*). */
  | { kind: "headers"; headers: Record<string, string> }
  /** Pass the request through, but send the answer's body at this many bytes per second. */
  | { kind: "throttle"; bytesPerSecond: number };

export interface FaultRule {
  /** Which requests the rule applies to. */
  match: (method: string, path: string) => boolean;
  action: FaultAction;
  /** How many matching requests get the fault; then the rule passes requests through. Default: all. */
  times?: number;
}

export interface FaultProxy {
  host: string;
  log: LoggedRequest[];
  rules: FaultRule[];
  /** Drop all rules and end stalled requests (so one test's stall does not linger into the next). */
  reset(): void;
  /** Requests to manifests or blobs (what a pull costs the registry), from log index `since`. */
  registryHits(since?: number): LoggedRequest[];
  /** Requests being answered (or stalled) right now. */
  inFlight(): number;
  close(): Promise<void>;
}

export async function startProxy(upstream: string): Promise<FaultProxy> {
  const up = new URL(upstream.includes("://") ? upstream : `http://${upstream}`);
  const log: LoggedRequest[] = [];
  const rules: FaultRule[] = [];
  const stalled = new Set<http.ServerResponse>();
  const open = new Set<string>();
  let seq = 0;
  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    const p = req.url ?? "/";
    const key = `${seq++} ${p}`;
    open.add(key);
    const repos = [
      ...new Set([...open].flatMap((k) => /\/v2\/(.+)\/(manifests|blobs)\//.exec(k)?.[1] ?? [])),
    ];
    const inFlight = open.size;
    res.on("close", () => open.delete(key));
    const push = (status: LoggedRequest["status"]) =>
      log.push({ method, path: p, status, at: Date.now(), inFlight, reposInFlight: repos });
    const rule = rules.find((r) => (r.times === undefined || r.times > 0) && r.match(method, p));
    let extraHeaders: Record<string, string> = {};
    let throttle: number | undefined;
    if (rule && rule.action.kind === "throttle") {
      if (rule.times !== undefined) rule.times--;
      throttle = rule.action.bytesPerSecond;
      forward();
      return;
    }
    if (rule && rule.action.kind === "delay") {
      if (rule.times !== undefined) rule.times--;
      setTimeout(() => forward(), rule.action.ms);
      return;
    }
    if (rule && rule.action.kind === "headers") {
      if (rule.times !== undefined) rule.times--;
      extraHeaders = rule.action.headers;
      forward();
      return;
    }
    if (rule) {
      if (rule.times !== undefined) rule.times--;
      const a = rule.action;
      if (a.kind === "reset") {
        push("reset");
        req.socket.destroy();
        return;
      }
      if (a.kind === "stall") {
        push("stall");
        stalled.add(res);
        return; // never answer
      }
      if (a.kind === "delay" || a.kind === "headers" || a.kind === "throttle") return; // handled above
      push(a.status);
      res.writeHead(a.status, { "Content-Type": "application/json", ...a.headers });
      res.end(a.body ?? "");
      return;
    }
    forward();
    function forward() {
      const fwd = http.request(
        { host: up.hostname, port: up.port, method, path: p, headers: { ...req.headers, host: up.host } },
        (ur) => {
          push(ur.statusCode ?? 0);
          res.writeHead(ur.statusCode ?? 502, { ...ur.headers, ...extraHeaders });
          if (throttle === undefined) {
            ur.pipe(res);
            return;
          }
          // A tenth of the rate every 100 ms, until the body ends or the client goes away.
          const step = Math.max(1, Math.round(throttle / 10));
          let buf = Buffer.alloc(0);
          let ended = false;
          ur.on("data", (c: Buffer) => (buf = Buffer.concat([buf, c])));
          ur.on("end", () => (ended = true));
          const t = setInterval(() => {
            if (res.destroyed) {
              clearInterval(t);
              ur.destroy();
              return;
            }
            if (buf.length) {
              res.write(buf.subarray(0, step));
              buf = buf.subarray(step);
            } else if (ended) {
              clearInterval(t);
              res.end();
            }
          }, 100);
          res.on("close", () => clearInterval(t));
        },
      );
      fwd.on("error", () => {
        push(502);
        res.writeHead(502);
        res.end();
      });
      req.pipe(fwd);
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    log,
    rules,
    reset() {
      rules.length = 0;
      for (const r of stalled) r.socket?.destroy();
      stalled.clear();
    },
    registryHits: (since = 0) => log.slice(since).filter((l) => /\/(manifests|blobs)\//.test(l.path)),
    inFlight: () => open.size,
    async close() {
      for (const r of stalled) r.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Docker Hub's quota answer, as the docker client renders it (REFERENCE §2). */
export const HUB_QUOTA_BODY = JSON.stringify({
  errors: [
    {
      code: "TOOMANYREQUESTS",
      message:
        "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
    },
  ],
});
