// `auth login --verify` against a registry played by a node:http server in this process on
// 127.0.0.1 (port 0): the anonymous /v2/ probe (https first, then http for a loopback host), the
// Basic and the Bearer (token service) flows, which credentials go where, how each answer is
// classified, and the exact message and hint of each error the user can see.
// Spec: https://distribution.github.io/distribution/spec/auth/token/
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RegistryTarget } from "../../src/auth/registry.js";
import { verifyCredentials } from "../../src/auth/verify.js";
import { InputError, ToolError } from "../../src/errors.js";

interface Seen {
  path: string;
  authorization: string | undefined;
}
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}
type Handler = (path: string, authorization: string | undefined) => Answer | "hang";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A registry on 127.0.0.1; every request it sees (path with query, Authorization header). */
async function registry(handler: Handler): Promise<{ host: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? "/";
    seen.push({ path, authorization: req.headers.authorization });
    const a = handler(path, req.headers.authorization);
    if (a === "hang") return;
    res.writeHead(a.status, a.headers ?? {});
    res.end(a.body ?? "");
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const target = (host: string, isLoopback = true): RegistryTarget => ({
  input: host,
  key: host,
  apiHost: host,
  isDockerHub: false,
  isLoopback,
});

// basicAuth("ci", "s3cret"), written out.
const BASIC = "Basic Y2k6czNjcmV0";
const verify = (host: string, opts = {}, t = target(host)) => verifyCredentials(t, "ci", "s3cret", opts);

async function failure(p: Promise<unknown>): Promise<Error & { hint?: string; kind?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { hint?: string };
  }
  throw new Error("expected a rejection");
}

const UNEXPECTED_HINT =
  "Check that --registry names a registry (it must serve /v2/); drop --verify to write the credential unchecked.";
const REJECTED_HINT =
  "Check the username and that the password file holds a current token (for Docker Hub a personal access token with read access).";

describe("verifyCredentials: the anonymous probe", () => {
  it("a registry that answers /v2/ without credentials is 'anonymous', and gets none", async () => {
    const r = await registry(() => ({ status: 200 }));
    await expect(verify(r.host)).resolves.toBe("anonymous");
    expect(r.seen).toEqual([{ path: "/v2/", authorization: undefined }]);
  });

  it.each([404, 500, 302])("HTTP %i on the probe is unexpected", async (status) => {
    const r = await registry(() => ({ status, headers: { location: "http://127.0.0.1:1/v2/" } }));
    const e = await failure(verify(r.host));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toBe(
      `unexpected HTTP ${status} from http://${r.host}/v2/ while verifying the credentials`,
    );
    expect(e.hint).toBe(UNEXPECTED_HINT);
    expect(r.seen).toHaveLength(1);
  });

  it("a non-loopback host is tried over https only", async () => {
    const r = await registry(() => ({ status: 200 }));
    const e = await failure(verify(r.host, {}, target(r.host, false)));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toMatch(
      new RegExp(`^cannot reach the registry ${r.host} to verify the credentials: \\S+`),
    );
    // The https attempt's own failure, not an empty list of attempts.
    expect(e.message).not.toContain("undefined");
    expect(r.seen).toEqual([]);
  });

  it("an unreachable registry names the host and the system's reason", async () => {
    const r = await registry(() => ({ status: 200 }));
    const host = r.host;
    await new Promise((res) => servers.pop()!.close(res));
    const e = await failure(verify(host));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toBe(`cannot reach the registry ${host} to verify the credentials: ECONNREFUSED`);
    expect(e.hint).toBe(
      "Check the registry name and the network, or drop --verify to write the credential unchecked.",
    );
    expect(e.cause).toBeInstanceOf(Error);
  });

  it("a registry that never answers times out", async () => {
    const r = await registry(() => "hang");
    const e = await failure(verify(r.host, { timeoutMs: 300 }));
    expect(e.message).toBe(`cannot reach the registry ${r.host} to verify the credentials: timed out`);
  });

  it("an interrupt during the probe is the signal's reason, not a reachability error", async () => {
    const r = await registry(() => ({ status: 200 }));
    const c = new AbortController();
    const reason = new Error("interrupted");
    c.abort(reason);
    await expect(verify(r.host, { signal: c.signal })).rejects.toBe(reason);
    expect(r.seen).toEqual([]);
  });
});

describe("verifyCredentials: Basic", () => {
  const challenge = { status: 401, headers: { "www-authenticate": 'Basic realm="registry"' } };

  it("sends the credentials to /v2/ and accepts a 200", async () => {
    const r = await registry((_p, auth) => (auth === BASIC ? { status: 200 } : challenge));
    await expect(verify(r.host)).resolves.toBe("accepted");
    expect(r.seen).toEqual([
      { path: "/v2/", authorization: undefined },
      { path: "/v2/", authorization: BASIC },
    ]);
  });

  it.each([401, 403])("HTTP %i with the credentials is a rejection (bad input)", async (status) => {
    const r = await registry((_p, auth) => (auth === undefined ? challenge : { status }));
    const e = await failure(verify(r.host));
    expect(e).toBeInstanceOf(InputError);
    expect(e.kind).toBe("credentials");
    expect(e.message).toBe(
      `${r.host} rejected the credentials of user "ci" (HTTP ${status} from ${r.host}); nothing was written`,
    );
    expect(e.hint).toBe(REJECTED_HINT);
  });

  it.each([500, 404])("HTTP %i with the credentials is unexpected", async (status) => {
    const r = await registry((_p, auth) => (auth === undefined ? challenge : { status }));
    const e = await failure(verify(r.host));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toBe(
      `unexpected HTTP ${status} from http://${r.host}/v2/ while verifying the credentials`,
    );
    expect(e.hint).toBe(UNEXPECTED_HINT);
  });
});

describe("verifyCredentials: Bearer (token service)", () => {
  /** /v2/ challenges to /token (service "reg"); `token` answers the token request. */
  async function bearer(token: (auth: string | undefined) => Answer, v2: (auth: string) => Answer) {
    let host = "";
    const r = await registry((path, auth) => {
      if (path.startsWith("/token")) return token(auth);
      if (auth === undefined)
        return {
          status: 401,
          headers: { "www-authenticate": `Bearer realm="http://${host}/token",service="reg"` },
        };
      return v2(auth);
    });
    host = r.host;
    return r;
  }
  const ok = (auth: string | undefined): Answer =>
    auth === BASIC ? { status: 200, body: '{"token":"tok1"}' } : { status: 401 };

  it("gets a token with the credentials (no scope) and checks /v2/ with it", async () => {
    const r = await bearer(ok, (auth) => ({ status: auth === "Bearer tok1" ? 200 : 401 }));
    await expect(verify(r.host)).resolves.toBe("accepted");
    expect(r.seen).toEqual([
      { path: "/v2/", authorization: undefined },
      { path: "/token?service=reg&account=ci&client_id=imagekeeper", authorization: BASIC },
      { path: "/v2/", authorization: "Bearer tok1" },
    ]);
  });

  it("takes OAuth2's access_token too", async () => {
    const r = await bearer(
      () => ({ status: 200, body: '{"access_token":"tok2"}' }),
      (auth) => ({ status: auth === "Bearer tok2" ? 200 : 401 }),
    );
    await expect(verify(r.host)).resolves.toBe("accepted");
  });

  it.each([401, 403])("HTTP %i from the token service is a rejection", async (status) => {
    const r = await bearer(
      () => ({ status }),
      () => ({ status: 200 }),
    );
    const e = await failure(verify(r.host));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe(
      `${r.host} rejected the credentials of user "ci" (HTTP ${status} from the token service ${r.host}); nothing was written`,
    );
    expect(e.hint).toBe(REJECTED_HINT);
    expect(r.seen).toHaveLength(2);
  });

  it.each([500, 404])(
    "HTTP %i from the token service is unexpected (named without its query)",
    async (status) => {
      const r = await bearer(
        () => ({ status }),
        () => ({ status: 200 }),
      );
      const e = await failure(verify(r.host));
      expect(e).toBeInstanceOf(ToolError);
      expect(e.message).toBe(
        `unexpected HTTP ${status} from http://${r.host}/token while verifying the credentials`,
      );
      expect(e.hint).toBe(UNEXPECTED_HINT);
    },
  );

  it.each(["{}", "not json", '{"token":""}'])(
    "a token answer %j without a token is an error",
    async (body) => {
      const r = await bearer(
        () => ({ status: 200, body }),
        () => ({ status: 200 }),
      );
      const e = await failure(verify(r.host));
      expect(e).toBeInstanceOf(ToolError);
      expect(e.message).toBe(`the token service ${r.host} answered without a token`);
      expect(e.hint).toBe(
        "Check that --registry names the registry itself; drop --verify to write the credential unchecked.",
      );
      expect(r.seen).toHaveLength(2);
    },
  );

  it.each([401, 403])("HTTP %i on /v2/ with the token is a rejection", async (status) => {
    const r = await bearer(ok, () => ({ status }));
    const e = await failure(verify(r.host));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe(
      `${r.host} rejected the credentials of user "ci" (HTTP ${status} from ${r.host}); nothing was written`,
    );
  });

  it.each([500, 404])("HTTP %i on /v2/ with the token is unexpected", async (status) => {
    const r = await bearer(ok, () => ({ status }));
    const e = await failure(verify(r.host));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toBe(
      `unexpected HTTP ${status} from http://${r.host}/v2/ while verifying the credentials`,
    );
  });
});

describe("verifyCredentials: challenges it cannot follow", () => {
  const challenged = (header: string) =>
    registry(() => ({ status: 401, headers: { "www-authenticate": header } }));

  it.each(['Negotiate realm="x"', 'Bearer service="reg"', ""])(
    "%j is a scheme it cannot check",
    async (h) => {
      const r = await challenged(h);
      const e = await failure(verify(r.host));
      expect(e).toBeInstanceOf(ToolError);
      expect(e.message).toBe(`${r.host} asks for an authentication scheme imagekeeper cannot check`);
      expect(e.hint).toBe("Drop --verify to write the credential unchecked, then try a `docker pull`.");
      expect(r.seen).toHaveLength(1);
    },
  );

  it("refuses to send the credentials to a plain-http token service off this host", async () => {
    const r = await challenged('Bearer realm="http://auth.example.org/token"');
    const e = await failure(verify(r.host));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toBe(
      `${r.host} sends credentials to http://auth.example.org, which is not https; refused`,
    );
    expect(e.hint).toBe(
      "Fix the registry's token realm, or drop --verify to write the credential unchecked.",
    );
  });

  it("refuses a token realm that is not a URL", async () => {
    const r = await challenged('Bearer realm="/token"');
    const e = await failure(verify(r.host));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toBe(`${r.host} named a token service that is not a URL`);
    expect(e.hint).toBe("Drop --verify to write the credential unchecked.");
    expect(r.seen).toHaveLength(1);
  });
});
