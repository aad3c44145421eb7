// A registry with token auth, the flow Docker Hub uses: the real distribution registry, configured
// with `auth.token`, in front of a small token service (token-server.mjs, its own process). The
// service checks basic credentials and issues JWTs signed by a throw-away self-signed certificate
// that the registry trusts through `rootcertbundle`. Stopped by PID, like everything in testbed.ts.
// Registry config: https://distribution.github.io/distribution/about/configuration/#token
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, REGISTRY, tempDir, waitFor } from "./testbed.js";

export interface TokenRequest {
  account: string | null;
  scope: string | null;
  /** Every `scope` parameter of the request. */
  scopes: string[];
  clientId: string | null;
  withCredentials: boolean;
}

export interface TokenRegistry {
  host: string;
  /** Token requests seen so far, without their credentials: what the client asked for. */
  tokenRequests(): TokenRequest[];
  stop(): Promise<void>;
}

// Beside this file; from the repository root when this file was bundled elsewhere (a benchmark).
const SERVER = [
  path.join(path.dirname(fileURLToPath(import.meta.url)), "token-server.mjs"),
  path.resolve("test/support/token-server.mjs"),
].find((f) => existsSync(f))!;

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(t);
}

export async function startTokenRegistry(
  user: string,
  password: string,
  opts: {
    publicPrefix?: string;
    /**
     * host:port the registry's challenge names as the token service (its realm), given the token
     * service's own: a benchmark puts an emulated link in front of it (bench/support/link.ts).
     */
    realmHost?: (tokenHost: string) => Promise<string>;
  } = {},
): Promise<TokenRegistry> {
  const dir = tempDir("iktok");
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert].concat([
      "-subj",
      "/CN=imagekeeper-test-token",
      "-days",
      "2",
    ]),
    { stdio: "ignore" },
  );
  const service = "imagekeeper-test-registry";
  const issuer = "imagekeeper-test-issuer";
  const tokenPort = await freePort();
  const requestLog = path.join(dir, "token-requests.jsonl");
  const serverConfig = path.join(dir, "token-server.json");
  writeFileSync(
    serverConfig,
    JSON.stringify({
      key,
      cert,
      user,
      password,
      service,
      issuer,
      port: tokenPort,
      log: requestLog,
      publicPrefix: opts.publicPrefix,
    }),
    { mode: 0o600 },
  );
  const tokenServer = spawn(process.execPath, [SERVER, serverConfig], { stdio: "inherit" });
  const realmHost = opts.realmHost
    ? await opts.realmHost(`127.0.0.1:${tokenPort}`)
    : `127.0.0.1:${tokenPort}`;

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
    realm: http://${realmHost}/token
    service: ${service}
    issuer: ${issuer}
    rootcertbundle: ${cert}
`,
  );
  const log = createWriteStream(path.join(dir, "registry.log"));
  const registry = spawn(REGISTRY, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
  registry.stdout?.pipe(log);
  registry.stderr?.pipe(log);
  await waitFor("the token-auth registry and its token service", async () => {
    const r = await fetch(`http://127.0.0.1:${port}/v2/`);
    const t = await fetch(`http://127.0.0.1:${tokenPort}/token`);
    return r.status === 401 && t.status === 401;
  });
  return {
    host: `127.0.0.1:${port}`,
    tokenRequests: () =>
      existsSync(requestLog)
        ? readFileSync(requestLog, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as TokenRequest)
        : [],
    async stop() {
      await stop(registry);
      await stop(tokenServer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
