// A registry with token auth, the flow Docker Hub uses: the real distribution registry, configured
// with `auth.token`, in front of a small token service written here. The service checks basic
// credentials and issues JWTs signed by a throw-away self-signed certificate, carried in the `x5c`
// header, that the registry trusts through `rootcertbundle`.
// Spec: https://distribution.github.io/distribution/spec/auth/jwt/ ; config: registry docs,
// "auth: token". Stopped by PID, like everything in testbed.ts.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createPrivateKey, createSign, randomBytes, X509Certificate } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { freePort, REGISTRY, tempDir, waitFor } from "./testbed.js";

export interface TokenRegistry {
  host: string;
  /** Token requests seen, without their credentials: what the client asked for. */
  tokenRequests: { account: string | null; scope: string | null; withCredentials: boolean }[];
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export async function startTokenRegistry(user: string, password: string): Promise<TokenRegistry> {
  const dir = tempDir("iktok");
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-subj",
      "/CN=imagekeeper-test-token",
      "-days",
      "2",
    ],
    { stdio: "ignore" },
  );
  const signingKey = createPrivateKey(readFileSync(key));
  const x5c = [new X509Certificate(readFileSync(cert)).raw.toString("base64")];
  const service = "imagekeeper-test-registry";
  const issuer = "imagekeeper-test-issuer";
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const tokenRequests: TokenRegistry["tokenRequests"] = [];

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const auth = req.headers.authorization;
    tokenRequests.push({
      account: u.searchParams.get("account"),
      scope: u.searchParams.get("scope"),
      withCredentials: auth !== undefined,
    });
    if (u.pathname !== "/token" || auth !== expected) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ details: "incorrect username or password" }));
      return;
    }
    // scope=repository:NAME:pull,push (possibly repeated): grant what was asked.
    const access = u.searchParams.getAll("scope").flatMap((s) => {
      const m = /^repository:([^:]+):(.+)$/.exec(s);
      return m ? [{ type: "repository", name: m[1], actions: m[2]!.split(",") }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: user,
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString("hex"),
        access,
      }),
    );
    const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(signingKey);
    const token = `${header}.${claims}.${b64url(signature)}`;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  const tokenPort = await freePort();
  await new Promise<void>((r) => server.listen(tokenPort, "127.0.0.1", r));

  const port = await freePort();
  const storage = path.join(dir, "storage");
  mkdirSync(storage);
  const config = path.join(dir, "config.yml");
  writeFileSync(
    config,
    `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: ${storage}
http:
  addr: 127.0.0.1:${port}
auth:
  token:
    realm: http://127.0.0.1:${tokenPort}/token
    service: ${service}
    issuer: ${issuer}
    rootcertbundle: ${cert}
`,
  );
  const log = createWriteStream(path.join(dir, "registry.log"));
  const child: ChildProcess = spawn(REGISTRY, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  await waitFor("the token-auth registry", async () => {
    const r = await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined);
    return r?.status === 401;
  });
  return {
    host: `127.0.0.1:${port}`,
    tokenRequests,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once("exit", () => r()));
        child.kill("SIGTERM");
        await exited;
      }
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
