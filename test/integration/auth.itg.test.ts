// `imagekeeper auth login` against a real registry with htpasswd auth and a real dockerd: a pull is
// refused before and served after; the config keeps its other entries and docker's modes; the
// password shows up in no output; --verify with a wrong password writes nothing. Then the same
// registry with token auth (Docker Hub's flow): --verify goes through the token service.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type Daemon,
  pushImage,
  type Registry,
  startDaemon,
  startRegistry,
  tempDir,
} from "../support/testbed.js";
import { startTokenRegistry, type TokenRegistry } from "../support/token-registry.js";

const BIN = inject("imagekeeperBin");
const USER = "ci-bot";
const PASSWORD = "dckr_pat_Imagekeeper-Test-9f2c71e0";
// What a careless implementation would leak besides the password itself.
const ENCODED = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function ik(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Ran {
  const r = spawnSync(process.execPath, ["--", BIN, ...args], {
    input: opts.input ?? "",
    env: { ...process.env, IMAGEKEEPER_LOG_LEVEL: "debug", ...opts.env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectNoSecret(r: Ran): void {
  for (const text of [r.stdout, r.stderr]) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(ENCODED);
  }
}

/** `docker pull` as a user whose client config is `dir`: the error text, or undefined on success. */
function pullError(d: Daemon, ref: string, dir: string): string | undefined {
  try {
    d.docker(["pull", ref], { env: { DOCKER_CONFIG: dir } });
    return undefined;
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e);
  }
}

/** `imagekeeper auth login` for the test registry, as the user would type it. */
const login = (registry: string, passwordFile: string, dockerConfig: string, ...extra: string[]) => [
  "auth",
  "login",
  ...extra,
  "--registry",
  registry,
  "--username",
  USER,
  "--password-file",
  passwordFile,
  "--docker-config",
  dockerConfig,
];

describe("auth login", () => {
  let reg: Registry;
  let d: Daemon;
  let ref: string;
  let passwordFile: string;
  let work: string;

  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
    d = await startDaemon();
    const img = await pushImage(reg.host, "private/app", "1.0", {
      sizeBytes: 1024,
      auth: { user: USER, password: PASSWORD },
    });
    ref = img.ref;
    work = tempDir("ikauth");
    passwordFile = path.join(work, "pat");
    // As sops-nix or a LoadCredential directory would hand it over: one line, owner-only.
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await d?.stop();
    await reg?.stop();
  });

  it("makes a refused pull succeed, keeping the config's other entries", () => {
    const dir = path.join(work, "runner", ".docker");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const other = {
      auths: { "ghcr.io": { auth: Buffer.from("someone:else").toString("base64") } },
      detachKeys: "ctrl-x,x",
      psFormat: "table {{.Names}}",
    };
    writeFileSync(path.join(dir, "config.json"), JSON.stringify(other), { mode: 0o600 });

    const before = pullError(d, ref, dir);
    expect(before).toMatch(/unauthorized|no basic auth credentials/);

    const r = ik(login(reg.host, passwordFile, dir));
    expect(r.stderr).not.toMatch(/^\d\d:\d\d:\d\d error /m);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`wrote ${reg.host} credentials for ${USER}`);
    expectNoSecret(r);

    const file = path.join(dir, "config.json");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
      ...other,
      auths: { ...other.auths, [reg.host]: { auth: ENCODED } },
    });

    expect(pullError(d, ref, dir)).toBeUndefined();
  });

  it("creates the directory 0700 and the file 0600 when there is none, reading the token from stdin", () => {
    const dir = path.join(work, "fresh", ".docker");
    const r = ik(["auth", "login", "--registry", reg.host, "--username", USER, "--password-file", "-"], {
      input: `${PASSWORD}\n`,
      env: { DOCKER_CONFIG: dir },
    });
    expect(r.status).toBe(0);
    expectNoSecret(r);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, "config.json")).mode & 0o777).toBe(0o600);
    expect(pullError(d, ref, dir)).toBeUndefined();
  });

  it("--verify accepts the right password and the pull works", () => {
    const dir = path.join(work, "verified");
    const r = ik(login(reg.host, passwordFile, dir, "--verify"));
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("the registry accepted the credentials");
    expectNoSecret(r);
    expect(pullError(d, ref, dir)).toBeUndefined();
  });

  it("--verify with a wrong password fails clearly and writes nothing", () => {
    const wrongFile = path.join(work, "wrong");
    const wrong = `${PASSWORD}-revoked`;
    writeFileSync(wrongFile, wrong, { mode: 0o600 });
    const dir = path.join(work, "wrong-docker");
    mkdirSync(dir, { mode: 0o700 });
    const original = JSON.stringify({ auths: { [reg.host]: { auth: "b2xkOm9sZA==" } } });
    writeFileSync(path.join(dir, "config.json"), original, { mode: 0o600 });

    const r = ik(login(reg.host, wrongFile, dir, "--verify"));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${reg.host} rejected the credentials of user "${USER}"`);
    expect(r.stderr).toContain("nothing was written");
    expect(r.stderr).not.toContain(wrong);
    expect(readFileSync(path.join(dir, "config.json"), "utf8")).toBe(original);

    const fresh = path.join(work, "wrong-fresh");
    const r2 = ik(login(reg.host, wrongFile, fresh, "--verify"));
    expect(r2.status).toBe(2);
    expect(existsSync(fresh)).toBe(false);
  });

  it("refuses a damaged config.json, naming it, and leaves it as it was", () => {
    const dir = path.join(work, "damaged");
    mkdirSync(dir, { mode: 0o700 });
    const damaged = '{"auths": {"ghcr.io": {"auth": "c29tZW9uZTplbHNl"}},';
    writeFileSync(path.join(dir, "config.json"), damaged, { mode: 0o600 });
    const r = ik(login(reg.host, passwordFile, dir));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(path.join(dir, "config.json"));
    expect(r.stderr).toContain("fix:");
    expect(r.stderr).not.toContain("c29tZW9uZTplbHNl");
    expectNoSecret(r);
    expect(readFileSync(path.join(dir, "config.json"), "utf8")).toBe(damaged);
  });

  it("refuses a password on the command line without echoing it", () => {
    const r = ik(["auth", "login", "--registry", reg.host, "--username", USER, `--password=${PASSWORD}`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--password-file");
    expectNoSecret(r);
  });

  it("warns when a credential helper will be asked instead", () => {
    const dir = path.join(work, "helper");
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(path.join(dir, "config.json"), JSON.stringify({ credHelpers: { [reg.host]: "pass" } }));
    const r = ik(login(reg.host, passwordFile, dir));
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("docker-credential-pass");
    expect(JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8")).credHelpers).toEqual({
      [reg.host]: "pass",
    });
  });
});

describe("auth login --verify with token auth (the Docker Hub flow)", () => {
  let reg: TokenRegistry;
  let d: Daemon;
  let work: string;
  let passwordFile: string;

  beforeAll(async () => {
    reg = await startTokenRegistry(USER, PASSWORD);
    d = await startDaemon();
    work = tempDir("iktok");
    passwordFile = path.join(work, "pat");
    writeFileSync(passwordFile, PASSWORD, { mode: 0o600 });
  });

  afterAll(async () => {
    await d?.stop();
    await reg?.stop();
  });

  const verifiedLogin = (file: string, dir: string) => ik(login(reg.host, file, dir, "--verify"));

  it("rejects a wrong password at the token service and writes nothing", () => {
    const wrongFile = path.join(work, "wrong");
    writeFileSync(wrongFile, "not-the-token", { mode: 0o600 });
    const dir = path.join(work, "wrong-docker");
    const r = verifiedLogin(wrongFile, dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`rejected the credentials of user "${USER}" (HTTP 401 from the token service`);
    expect(existsSync(dir)).toBe(false);
    // The flow reached the token service with credentials for the account.
    expect(reg.tokenRequests().at(-1)).toMatchObject({ account: USER, withCredentials: true });
  });

  it("accepts the right password through the token flow; docker then pushes and pulls", () => {
    const dir = path.join(work, "docker");
    const ref = `${reg.host}/private/tok:1`;
    // An empty image: a tar archive of nothing (two zero blocks and padding).
    d.docker(["import", "-", ref], { input: "\0".repeat(10240) });
    const denied = (() => {
      try {
        d.docker(["push", ref], { env: { DOCKER_CONFIG: dir } });
        return "";
      } catch (e) {
        return String((e as { stderr?: Buffer }).stderr ?? e);
      }
    })();
    expect(denied).toMatch(/unauthorized|authentication required|denied/);

    const r = verifiedLogin(passwordFile, dir);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("the registry accepted the credentials");
    expectNoSecret(r);

    d.docker(["push", ref], { env: { DOCKER_CONFIG: dir } });
    d.docker(["image", "rm", ref]);
    expect(pullError(d, ref, dir)).toBeUndefined();
  });
});
