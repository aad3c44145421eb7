// A minimal HTTP/1.0 client for the Engine API. node:http costs a warm prepull several
// milliseconds to load and to prepare its first request (most of them spent validating host
// names that a unix socket never has); the daemon's API needs none of it. HTTP/1.0 means one
// request per connection, no keep-alive, and a body that ends when the connection closes (Go's
// net/http answers 1.0 requests without chunking; chunked bodies are decoded anyway).
import net from "node:net";

export type Endpoint = { socketPath: string } | { host: string; port: number };

export interface RawResponse {
  status: number;
  body: string;
}

export class ConnectError extends Error {
  override name = "ConnectError";
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code;
  }
}

export function http10(
  endpoint: Endpoint,
  method: string,
  path: string,
  timeoutMs: number,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock =
      "socketPath" in endpoint
        ? net.createConnection(endpoint.socketPath)
        : net.createConnection(endpoint.port, endpoint.host);
    const chunks: Buffer[] = [];
    let connected = false;
    sock.setTimeout(timeoutMs, () =>
      sock.destroy(new ConnectError(`no answer within ${timeoutMs} ms`, "ETIMEDOUT")),
    );
    sock.on("connect", () => {
      connected = true;
      sock.end(`${method} ${path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: imagekeeper\r\n\r\n`);
    });
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("error", (e: NodeJS.ErrnoException) =>
      reject(
        e instanceof ConnectError
          ? e
          : new ConnectError(e.message, e.code ?? (connected ? "ECONNRESET" : undefined)),
      ),
    );
    sock.on("close", (hadError) => {
      if (hadError) return;
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Parse a complete HTTP/1.x response (status line, headers, body). Pure; exported for tests. */
export function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) throw new ConnectError("the daemon closed the connection before a complete answer", "EPROTO");
  const head = raw.subarray(0, end).toString("latin1");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!m) throw new ConnectError(`not an HTTP answer: ${head.slice(0, 40)}`, "EPROTO");
  let body = raw.subarray(end + 4);
  if (/^transfer-encoding:\s*chunked\s*$/im.test(head)) body = dechunk(body);
  return { status: Number(m[1]), body: body.toString("utf8") };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const nl = b.indexOf("\r\n", i);
    if (nl < 0) break;
    const size = Number.parseInt(b.subarray(i, nl).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(b.subarray(nl + 2, nl + 2 + size));
    i = nl + 2 + size + 2;
  }
  return Buffer.concat(out);
}

export interface StreamRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Fail when no byte arrives for this long (a stalled stream), not a bound on the whole stream. */
  idleTimeoutMs?: number;
  /** Aborting closes the connection (the daemon then cancels what the request started, if it can). */
  signal?: AbortSignal;
}

export interface StreamResult {
  status: number;
  /** For a non-2xx answer, its whole body (the daemon's error document); else "". */
  body: string;
}

/**
 * A streaming request for the Engine API's long answers (the event stream, pull progress): each
 * complete line of a 2xx body is handed to `onLine` as it arrives (the daemon writes one JSON
 * document per line); the promise settles when the daemon closes the connection. HTTP/1.0, so the
 * body is never chunked (Go's net/http does not chunk answers to 1.0 requests) and ends at close.
 * An abort resolves (it is the caller's own decision), with whatever status had arrived.
 */
export function http10Stream(
  endpoint: Endpoint,
  req: StreamRequest,
  onLine: (line: string) => void,
): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    if (req.signal?.aborted) {
      resolve({ status: 0, body: "" });
      return;
    }
    const sock =
      "socketPath" in endpoint
        ? net.createConnection(endpoint.socketPath)
        : net.createConnection(endpoint.port, endpoint.host);
    let connected = false;
    let head: Buffer = Buffer.alloc(0);
    let status: number | undefined;
    let pending = "";
    const errorBody: Buffer[] = [];
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      sock.destroy();
    };
    req.signal?.addEventListener("abort", onAbort, { once: true });
    if (req.idleTimeoutMs !== undefined)
      sock.setTimeout(req.idleTimeoutMs, () =>
        sock.destroy(new ConnectError(`no data for ${req.idleTimeoutMs} ms`, "ETIMEDOUT")),
      );
    const feed = (chunk: Buffer) => {
      if (status === undefined || status < 200 || status >= 300) {
        errorBody.push(chunk);
        return;
      }
      pending += chunk.toString("utf8");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, "");
        pending = pending.slice(nl + 1);
        if (line.trim() !== "") onLine(line);
      }
    };
    sock.on("connect", () => {
      connected = true;
      const headers: Record<string, string> = { Host: "docker", "User-Agent": "imagekeeper", ...req.headers };
      if (req.body !== undefined) {
        headers["Content-Type"] ??= "application/json";
        headers["Content-Length"] = String(Buffer.byteLength(req.body));
      }
      const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
      sock.write(`${req.method} ${req.path} HTTP/1.0\r\n${lines.join("")}\r\n`);
      if (req.body !== undefined) sock.write(req.body);
    });
    sock.on("data", (c: Buffer) => {
      if (status !== undefined) return feed(c);
      head = Buffer.concat([head, c]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const text = head.subarray(0, end).toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) {
        sock.destroy(new ConnectError(`not an HTTP answer: ${text.slice(0, 40)}`, "EPROTO"));
        return;
      }
      if (/^transfer-encoding:\s*chunked\s*$/im.test(text)) {
        sock.destroy(new ConnectError("the daemon chunked an answer to an HTTP/1.0 request", "EPROTO"));
        return;
      }
      status = Number(m[1]);
      const rest = head.subarray(end + 4);
      head = Buffer.alloc(0);
      if (rest.length) feed(rest);
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      if (aborted) return;
      req.signal?.removeEventListener("abort", onAbort);
      reject(
        e instanceof ConnectError
          ? e
          : new ConnectError(e.message, e.code ?? (connected ? "ECONNRESET" : undefined)),
      );
    });
    sock.on("close", (hadError) => {
      req.signal?.removeEventListener("abort", onAbort);
      if (hadError && !aborted) return;
      if (pending.trim() !== "" && status !== undefined && status >= 200 && status < 300) onLine(pending);
      if (status === undefined && !aborted) {
        reject(new ConnectError("the daemon closed the connection before a complete answer", "EPROTO"));
        return;
      }
      resolve({ status: status ?? 0, body: Buffer.concat(errorBody).toString("utf8") });
    });
  });
}
