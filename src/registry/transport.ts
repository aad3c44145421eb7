// HTTP(S) for the registry client: node:http and node:https, loaded on the first request (a warm
// `--pull-policy missing` prepull never loads them), keep-alive agents so the token request and the
// manifest HEADs of one registry share connections, and errors worded as the docker daemon words
// them ("connection refused", "no such host", "i/o timeout"), so src/pull/classify.ts reads both.
// Per-registry CAs come from /etc/docker/certs.d/HOST/*.crt, the directory the daemon reads.
// https://docs.docker.com/engine/security/certificates/
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Agent as HttpAgent, IncomingHttpHeaders } from "node:http";
import type { HeaderBag } from "./quota.js";

export interface HttpRequest {
  method: "GET" | "HEAD" | "POST";
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  /** false: accept any certificate (an insecure registry). */
  verifyTls?: boolean;
  signal?: AbortSignal;
  timeoutMs: number;
}

export interface HttpAnswer {
  status: number;
  headers: HeaderBag;
  /** At most 64 KiB of the body (token documents, error documents); "" for HEAD. */
  body: string;
}

/** A request that got no HTTP answer. `message` reads like the daemon's, for the classifier. */
export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

const MAX_BODY = 64 * 1024;
export const CERTS_DIR = "/etc/docker/certs.d";

type HttpModule = typeof import("node:http");
type HttpsModule = typeof import("node:https");
let httpMod: HttpModule | undefined;
let httpsMod: HttpsModule | undefined;
const agents = new Map<string, HttpAgent>();

/** The CA certificates the daemon would add for `host` (certs.d/HOST/*.crt), if any. */
export function registryCas(host: string, dir = CERTS_DIR): string[] | undefined {
  let names: string[];
  try {
    names = readdirSync(path.join(dir, host));
  } catch {
    return undefined;
  }
  const cas = names
    .filter((n) => n.endsWith(".crt"))
    .map((n) => readFileSync(path.join(dir, host, n), "utf8"));
  return cas.length ? cas : undefined;
}

async function agentFor(
  url: URL,
  verifyTls: boolean,
): Promise<{ mod: HttpModule | HttpsModule; agent: HttpAgent }> {
  const key = `${url.protocol}//${url.host}|${verifyTls}`;
  if (url.protocol === "https:") {
    httpsMod ??= await import("node:https");
    let agent = agents.get(key);
    if (!agent) {
      const ca = registryCas(url.host);
      // Node's own store plus the registry's CAs, as the daemon adds certs.d to the system pool.
      const tls = await import("node:tls");
      agent = new httpsMod.Agent({
        keepAlive: true,
        rejectUnauthorized: verifyTls,
        ...(ca ? { ca: [...tls.rootCertificates, ...ca] } : {}),
      });
      agents.set(key, agent);
    }
    return { mod: httpsMod, agent };
  }
  httpMod ??= await import("node:http");
  let agent = agents.get(key);
  if (!agent) {
    agent = new httpMod.Agent({ keepAlive: true });
    agents.set(key, agent);
  }
  return { mod: httpMod, agent };
}

/** Close idle keep-alive connections (the process can then exit at once). */
export function closeConnections(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

/** Node's error codes in the words Go's net package (and so the daemon) uses. */
export function describeNetError(url: URL, method: string, e: NodeJS.ErrnoException): TransportError {
  const where = `${method === "HEAD" ? "Head" : method === "POST" ? "Post" : "Get"} "${url.origin}${url.pathname}"`;
  const code = e.code;
  const text =
    code === "ECONNREFUSED"
      ? `dial tcp ${url.host}: connect: connection refused`
      : code === "ECONNRESET" || code === "EPIPE"
        ? `read tcp ${url.host}: connection reset by peer`
        : code === "ENOTFOUND"
          ? `dial tcp: lookup ${url.hostname}: no such host`
          : code === "EAI_AGAIN"
            ? `dial tcp: lookup ${url.hostname}: temporary failure in name resolution`
            : code === "ETIMEDOUT" || code === "ESOCKETTIMEDOUT"
              ? `dial tcp ${url.host}: i/o timeout`
              : code === "ENETUNREACH" || code === "EHOSTUNREACH"
                ? `dial tcp ${url.host}: connect: network is unreachable`
                : code?.startsWith("ERR_TLS") ||
                    code?.startsWith("CERT_") ||
                    code === "DEPTH_ZERO_SELF_SIGNED_CERT" ||
                    code === "SELF_SIGNED_CERT_IN_CHAIN" ||
                    code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
                  ? `tls: failed to verify certificate: x509: ${e.message}`
                  : /wrong version number|packet length too long|EPROTO/i.test(`${code} ${e.message}`)
                    ? "http: server gave HTTP response to HTTPS client"
                    : `${e.message}${code ? ` (${code})` : ""}`;
  return new TransportError(`${where}: ${text}`, code);
}

/** The caller stopped the request: its time ran out (a timeout signal) or it was interrupted. */
function abortError(req: HttpRequest): TransportError {
  const where = `${req.method === "HEAD" ? "Head" : req.method === "POST" ? "Post" : "Get"} "${req.url.origin}${req.url.pathname}"`;
  const timedOut = (req.signal?.reason as { name?: string } | undefined)?.name === "TimeoutError";
  return new TransportError(
    timedOut ? `${where}: i/o timeout (the registry check ran out of time)` : `${where}: request cancelled`,
    timedOut ? "ETIMEDOUT" : "ABORT_ERR",
  );
}

function headersOf(h: IncomingHttpHeaders): HeaderBag {
  return h as HeaderBag;
}

export async function httpRequest(req: HttpRequest): Promise<HttpAnswer> {
  const { mod, agent } = await agentFor(req.url, req.verifyTls !== false);
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (req.signal?.aborted) {
      reject(abortError(req));
      return;
    }
    const headers: Record<string, string> = { "User-Agent": "imagekeeper", ...req.headers };
    if (req.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(req.body));
    const r = mod.request(req.url, { method: req.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        if (size < MAX_BODY) chunks.push(c);
        size += c.length;
      });
      res.on("end", () => {
        cleanup();
        resolve({
          status: res.statusCode ?? 0,
          headers: headersOf(res.headers),
          body: Buffer.concat(chunks).subarray(0, MAX_BODY).toString("utf8"),
        });
      });
      res.on("error", (e: NodeJS.ErrnoException) => {
        cleanup();
        reject(describeNetError(req.url, req.method, e));
      });
    });
    const timer = setTimeout(
      () => r.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })),
      req.timeoutMs,
    );
    const onAbort = () => r.destroy(Object.assign(new Error("aborted"), { code: "ABORT_ERR" }));
    req.signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      req.signal?.removeEventListener("abort", onAbort);
    };
    r.on("error", (e: NodeJS.ErrnoException) => {
      cleanup();
      if (req.signal?.aborted) reject(abortError(req));
      else reject(describeNetError(req.url, req.method, e));
    });
    r.end(req.body);
  });
}
