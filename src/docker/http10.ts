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
