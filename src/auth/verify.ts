// `auth login --verify`: ask the registry whether it accepts the credentials before we write them,
// the way `docker login` does. GET /v2/ without credentials; a 401 carries a challenge:
//   Basic  → GET /v2/ again with basic auth;
//   Bearer → GET the challenge's realm (the token service) with basic auth, then GET /v2/ with the
//            token it returns (Docker Hub works this way).
// A 401/403 on the credentialed request means they were rejected. Credentials go only to https,
// or to a loopback host over http (as the docker daemon allows), and never appear in a message.
// Spec: https://distribution.github.io/distribution/spec/auth/token/
import { InputError, ToolError } from "../errors.js";
import { logger } from "../log.js";
import { parseChallenge } from "./challenge.js";
import type { RegistryTarget } from "./registry.js";
import { basicAuth, safeRealm, tokenFrom, tokenRequest } from "./token.js";

export type VerifyOutcome =
  /** The registry accepted the credentials. */
  | "accepted"
  /** The registry answers /v2/ without credentials: nothing to check them against. */
  | "anonymous";

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Per request. */
  timeoutMs?: number;
}

class Rejected extends Error {
  constructor(
    readonly status: number,
    readonly where: string,
  ) {
    super(`HTTP ${status} from ${where}`);
  }
}

export async function verifyCredentials(
  target: RegistryTarget,
  username: string,
  secret: string,
  opts: VerifyOptions = {},
): Promise<VerifyOutcome> {
  const basic = basicAuth(username, secret);
  const get = (url: URL, authorization?: string) => request(url, authorization, opts);
  try {
    const { base, first } = await probe(target, opts);
    if (first.status === 200) return "anonymous";
    if (first.status !== 401) throw unexpected(first.status, `${base}/v2/`);
    const challenge = parseChallenge(first.headers.get("www-authenticate"));
    const v2 = new URL(`${base}/v2/`);
    if (challenge?.scheme === "basic") {
      const r = await get(v2, basic);
      if (r.status === 401 || r.status === 403) throw new Rejected(r.status, v2.host);
      if (r.status !== 200) throw unexpected(r.status, v2.href);
      return "accepted";
    }
    if (challenge?.scheme === "bearer" && challenge.params.realm) {
      const realm = safeUrl(challenge.params.realm, target);
      // No scope: the token proves the credentials; /v2/ needs no repository access.
      const req = tokenRequest(realm, challenge, [], { username, password: secret });
      const t = await get(req.url, basic);
      if (t.status === 401 || t.status === 403)
        throw new Rejected(t.status, `the token service ${realm.host}`);
      if (t.status !== 200) throw unexpected(t.status, `${realm.origin}${realm.pathname}`);
      const token = tokenFrom(await t.json().catch(() => undefined));
      if (!token)
        throw new ToolError(`the token service ${realm.host} answered without a token`, {
          hint: "Check that --registry names the registry itself; drop --verify to write the credential unchecked.",
        });
      const r = await get(v2, `Bearer ${token}`);
      if (r.status === 401 || r.status === 403) throw new Rejected(r.status, v2.host);
      if (r.status !== 200) throw unexpected(r.status, v2.href);
      return "accepted";
    }
    throw new ToolError(`${target.apiHost} asks for an authentication scheme imagekeeper cannot check`, {
      hint: "Drop --verify to write the credential unchecked, then try a `docker pull`.",
    });
  } catch (e) {
    if (e instanceof Rejected) {
      throw new InputError(
        "credentials",
        `${target.key} rejected the credentials of user "${username}" (${e.message}); nothing was written`,
        {
          hint: "Check the username and that the password file holds a current token (for Docker Hub a personal access token with read access).",
        },
      );
    }
    throw e;
  }
}

/** GET /v2/ anonymously: https, then plain http for a loopback registry (as dockerd falls back). */
async function probe(
  target: RegistryTarget,
  opts: VerifyOptions,
): Promise<{ base: string; first: Response }> {
  const bases = [`https://${target.apiHost}`];
  if (target.isLoopback) bases.push(`http://${target.apiHost}`);
  let lastError: unknown;
  for (const base of bases) {
    try {
      return { base, first: await request(new URL(`${base}/v2/`), undefined, opts) };
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      lastError = e;
    }
  }
  throw new ToolError(
    `cannot reach the registry ${target.apiHost} to verify the credentials: ${describe(lastError)}`,
    {
      hint: "Check the registry name and the network, or drop --verify to write the credential unchecked.",
      cause: lastError,
    },
  );
}

async function request(url: URL, authorization: string | undefined, opts: VerifyOptions): Promise<Response> {
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 15_000)];
  if (opts.signal) signals.push(opts.signal);
  logger().debug(
    { url: `${url.origin}${url.pathname}`, withCredentials: authorization !== undefined },
    "verify",
  );
  try {
    const res = await fetch(url, {
      headers: authorization ? { authorization } : {},
      signal: AbortSignal.any(signals),
      // A redirect could carry the credentials somewhere we did not check; registries do not
      // redirect /v2/ or the token endpoint.
      redirect: "manual",
    });
    return res;
  } catch (e) {
    // SIGINT/SIGTERM: the reason is the InterruptedError the CLI maps to 130/143.
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw e;
  }
}

/** The token realm, if it is safe to send the credentials there. */
function safeUrl(realm: string, target: RegistryTarget): URL {
  const r = safeRealm(realm);
  if (r.ok) return r.url;
  if (!URL.canParse(realm))
    throw new ToolError(`${target.apiHost} named a token service that is not a URL`, {
      hint: "Drop --verify to write the credential unchecked.",
    });
  throw new ToolError(
    `${target.apiHost} sends credentials to ${new URL(realm).origin}, which is not https; refused`,
    {
      hint: "Fix the registry's token realm, or drop --verify to write the credential unchecked.",
    },
  );
}

function unexpected(status: number, where: string): ToolError {
  return new ToolError(`unexpected HTTP ${status} from ${where} while verifying the credentials`, {
    hint: "Check that --registry names a registry (it must serve /v2/); drop --verify to write the credential unchecked.",
  });
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause as { code?: string; message?: string } | undefined;
  if (e.name === "TimeoutError") return "timed out";
  return cause?.code ?? cause?.message ?? e.message;
}
