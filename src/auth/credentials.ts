// The credential the pulling user's docker client would send to a registry, found the way the
// client finds it (docker/cli cli/config/configfile/file.go GetAuthConfig): `credHelpers[KEY]`
// first, else `credsStore` (either one asks `docker-credential-NAME get` with the key on stdin and
// reads {ServerURL, Username, Secret} as JSON from stdout; the Username "<token>" marks an identity
// token), else `auths[KEY]` (`auth` is base64 "user:password"; `identitytoken` an OAuth2 refresh
// token). KEY is `https://index.docker.io/v1/` for Docker Hub, else the registry's host[:port].
// Helpers run through src/exec.ts; nothing here logs a secret.
// https://github.com/docker/docker-credential-helpers#development (the helper protocol)
import path from "node:path";
import { z } from "zod";
import { logger } from "../log.js";
import { type DockerConfig, dockerConfigDir, readDockerConfig } from "./dockerConfig.js";
import { registryHostname } from "./registry.js";

export interface RegistryCredential {
  /** The config key it was found under (also the `serveraddress` the daemon gets). */
  serverAddress: string;
  username?: string;
  password?: string;
  identityToken?: string;
  /** Where it came from, for logs and reports (never the secret). */
  from: "auths" | "credHelpers" | "credsStore";
}

export type CredentialSource =
  | { kind: "helper"; helper: string; via: "credHelpers" | "credsStore" }
  | { kind: "auths"; entry: NonNullable<DockerConfig["auths"]>[string] }
  | { kind: "none" };

/** Which source the docker client would use for `key`. Pure. */
export function credentialSource(config: DockerConfig, key: string): CredentialSource {
  const helper = config.credHelpers?.[key];
  if (helper) return { kind: "helper", helper, via: "credHelpers" };
  if (config.credsStore) return { kind: "helper", helper: config.credsStore, via: "credsStore" };
  const auths = config.auths ?? {};
  const entry =
    auths[key] ??
    // Legacy keys ("https://host/v1/", "http://host"): the client compares their host names with
    // the key (so Docker Hub's URL key only ever matches itself).
    Object.entries(auths).find(([k]) => registryHostname(k) === key)?.[1];
  return entry ? { kind: "auths", entry } : { kind: "none" };
}

/** The credential in an `auths` entry, or undefined when it holds none. Pure. */
export function fromAuthsEntry(
  key: string,
  entry: NonNullable<DockerConfig["auths"]>[string],
): RegistryCredential | undefined {
  if (entry.identitytoken) return { serverAddress: key, identityToken: entry.identitytoken, from: "auths" };
  if (entry.auth) {
    const text = Buffer.from(entry.auth, "base64").toString("utf8");
    const i = text.indexOf(":");
    if (i <= 0) return undefined;
    return { serverAddress: key, username: text.slice(0, i), password: text.slice(i + 1), from: "auths" };
  }
  if (entry.username && entry.password !== undefined)
    return { serverAddress: key, username: entry.username, password: entry.password, from: "auths" };
  return undefined;
}

const helperOutput = z.looseObject({
  ServerURL: z.string().optional(),
  Username: z.string(),
  Secret: z.string(),
});

/** A helper's `get` answer; undefined for "not found" (the helper exits 1 saying so). Pure. */
export function fromHelperOutput(
  key: string,
  via: "credHelpers" | "credsStore",
  exitCode: number | undefined,
  stdout: string,
): RegistryCredential | undefined | Error {
  if (exitCode !== 0) {
    if (/credentials not found/i.test(stdout)) return undefined;
    return new Error(`exit ${exitCode ?? "?"}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return new Error("its answer is not JSON");
  }
  const r = helperOutput.safeParse(json);
  if (!r.success) return new Error("its answer lacks Username or Secret");
  if (r.data.Secret === "") return undefined;
  // docker/cli credentials/native_store.go: the username "<token>" means an identity token.
  if (r.data.Username === "<token>") return { serverAddress: key, identityToken: r.data.Secret, from: via };
  return { serverAddress: key, username: r.data.Username, password: r.data.Secret, from: via };
}

/**
 * The X-Registry-Auth header for the Engine API: base64url of the AuthConfig JSON, with padding
 * (docker 20.10 decodes with Go's padded URL encoding). No credential: no header (anonymous).
 */
export function registryAuthHeader(c: RegistryCredential | undefined): string | undefined {
  if (!c) return undefined;
  const json = c.identityToken
    ? { identitytoken: c.identityToken, serveraddress: c.serverAddress }
    : { username: c.username, password: c.password, serveraddress: c.serverAddress };
  return Buffer.from(JSON.stringify(json), "utf8").toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

export type HelperRunner = (
  helper: string,
  key: string,
) => Promise<{ exitCode: number | undefined; stdout: string }>;

const runHelper: HelperRunner = async (helper, key) => {
  // Loaded only when a helper is configured: execa is not on a warm prepull's path.
  const { run } = await import("../exec.js");
  const r = await run(`docker-credential-${helper}`, ["get"], { input: key, timeoutMs: 30_000 });
  return { exitCode: r.exitCode, stdout: r.stdout };
};

/**
 * The pulling user's credentials, looked up once per key and remembered for the run (helpers can
 * be slow: a keychain, a cloud API). A helper that fails is a warning and the request goes
 * anonymous; the registry's answer then says what is missing.
 */
export class CredentialStore {
  private config: DockerConfig | undefined;
  private readonly found = new Map<string, Promise<RegistryCredential | undefined>>();

  constructor(
    private readonly configFile: string,
    private readonly helper: HelperRunner = runHelper,
  ) {}

  static forUser(env: NodeJS.ProcessEnv): CredentialStore {
    return new CredentialStore(path.join(dockerConfigDir(undefined, env), "config.json"));
  }

  get(key: string): Promise<RegistryCredential | undefined> {
    let p = this.found.get(key);
    if (!p) {
      p = this.lookup(key);
      this.found.set(key, p);
    }
    return p;
  }

  private async lookup(key: string): Promise<RegistryCredential | undefined> {
    this.config ??= readDockerConfig(this.configFile);
    const src = credentialSource(this.config, key);
    if (src.kind === "none") return undefined;
    if (src.kind === "auths") return fromAuthsEntry(key, src.entry);
    try {
      const r = await this.helper(src.helper, key);
      const c = fromHelperOutput(key, src.via, r.exitCode, r.stdout);
      if (c instanceof Error) {
        logger().warn(
          { helper: `docker-credential-${src.helper}`, registry: key, problem: c.message },
          "the credential helper failed; asking the registry anonymously",
        );
        return undefined;
      }
      return c;
    } catch (e) {
      logger().warn(
        { helper: `docker-credential-${src.helper}`, registry: key, problem: (e as Error).message },
        "the credential helper could not run; asking the registry anonymously",
      );
      return undefined;
    }
  }
}
