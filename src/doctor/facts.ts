// Gathering what `imagekeeper doctor` judges (checks.ts): the docker client, the daemon over its
// socket (as src/docker/engine.ts talks to it), the run and state dirs, this user's groups, the
// util-linux tools, the docker client config, and both clocks. Reads only; every probe that fails
// becomes a fact ("not found", "EACCES"), never an exception.
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import path from "node:path";
import { z } from "zod";
import { dockerConfigDir, readDockerConfig } from "../auth/dockerConfig.js";
import type { Config } from "../config/schema.js";
import { dockerEndpoint, Engine } from "../docker/engine.js";
import { ConnectError, type Endpoint, http10 } from "../docker/http10.js";
import { run } from "../exec.js";
import { findExecutable } from "../util/executable.js";
import type { DirFacts, DoctorFacts } from "./checks.js";

const TIMEOUT_MS = 10_000;

function dirFacts(dir: string): DirFacts {
  const p = path.resolve(dir);
  try {
    const st = statSync(p);
    let writable = true;
    try {
      accessSync(p, constants.W_OK | constants.X_OK);
    } catch {
      writable = false;
    }
    return { path: p, exists: true, uid: st.uid, gid: st.gid, mode: st.mode, writable };
  } catch (e) {
    // Missing: could we create it? The nearest existing ancestor decides.
    let parent = path.dirname(p);
    while (parent !== path.dirname(parent)) {
      try {
        statSync(parent);
        break;
      } catch {
        parent = path.dirname(parent);
      }
    }
    let writable = true;
    try {
      accessSync(parent, constants.W_OK | constants.X_OK);
    } catch {
      writable = false;
    }
    const code = (e as NodeJS.ErrnoException).code;
    return { path: p, exists: false, writable, ...(code && code !== "ENOENT" ? { error: code } : {}) };
  }
}

/** name:x:id:… lines of /etc/passwd or /etc/group. */
function readDb(file: string): string[][] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split(":"));
  } catch {
    return [];
  }
}

async function dockerClient(binary: string, env: NodeJS.ProcessEnv): Promise<DoctorFacts["docker"]> {
  const found = findExecutable(binary, env.PATH ?? "");
  if (!found.ok) return { binary, stackConfig: false, error: found.why };
  // "Docker version 28.2.2, build e6534b4": the client alone, no daemon asked.
  const version = await run(found.path, ["--version"], { timeoutMs: TIMEOUT_MS }).catch(() => undefined);
  const v = /version (\S+?),?\s/i.exec(`${version?.stdout ?? ""} `)?.[1];
  const stack = await run(found.path, ["stack", "config", "--help"], { timeoutMs: TIMEOUT_MS }).catch(
    () => undefined,
  );
  return {
    binary,
    path: found.path,
    ...(v && /^\d/.test(v) ? { version: v } : {}),
    stackConfig: stack?.exitCode === 0,
  };
}

const infoSchema = z.looseObject({
  ServerVersion: z.string().optional(),
  DockerRootDir: z.string().optional(),
  SystemTime: z.string().optional(),
});

async function daemon(env: NodeJS.ProcessEnv): Promise<{ d: DoctorFacts["daemon"]; endpoint?: Endpoint }> {
  let endpoint: Endpoint;
  try {
    endpoint = dockerEndpoint(env);
  } catch (e) {
    return { d: { endpoint: env.DOCKER_HOST ?? "?", error: (e as Error).message } };
  }
  const engine = new Engine(endpoint, TIMEOUT_MS);
  const where = engine.describe();
  try {
    const ping = await http10(endpoint, "GET", "/_ping", TIMEOUT_MS);
    if (ping.status !== 200)
      return { d: { endpoint: where, error: `/_ping answered ${ping.status}` }, endpoint };
  } catch (e) {
    const code = e instanceof ConnectError ? e.code : undefined;
    return { d: { endpoint: where, error: code ?? (e as Error).message }, endpoint };
  }
  const askedAt = Date.now();
  try {
    const info = await engine.get("/info", infoSchema);
    const answeredAt = Date.now();
    return {
      d: {
        endpoint: where,
        ...(info?.ServerVersion ? { serverVersion: info.ServerVersion } : {}),
        ...(info?.DockerRootDir ? { rootDir: info.DockerRootDir } : {}),
        ...(info?.SystemTime ? { systemTime: info.SystemTime, askedAt, answeredAt } : {}),
      },
      endpoint,
    };
  } catch (e) {
    return { d: { endpoint: where, error: `/info: ${(e as Error).message}` }, endpoint };
  }
}

function dockerConfigFacts(env: NodeJS.ProcessEnv): DoctorFacts["dockerConfig"] {
  const file = path.join(dockerConfigDir(undefined, env), "config.json");
  let exists = false;
  try {
    statSync(file);
    exists = true;
  } catch {
    // none yet
  }
  try {
    const c = readDockerConfig(file);
    const helpers = [
      ...new Set([...(c.credsStore ? [c.credsStore] : []), ...Object.values(c.credHelpers ?? {})]),
    ];
    return {
      file,
      exists,
      ...(c.credsStore !== undefined ? { credsStore: c.credsStore } : {}),
      credHelpers: c.credHelpers ?? {},
      auths: Object.entries(c.auths ?? {})
        .filter(([, v]) => v.auth !== undefined && v.auth !== "")
        .map(([k]) => k),
      helperFound: Object.fromEntries(
        helpers
          .filter((h) => h !== "")
          .map((h) => [h, findExecutable(`docker-credential-${h}`, env.PATH ?? "").ok]),
      ),
    };
  } catch (e) {
    return { file, exists, error: (e as Error).message, credHelpers: {}, auths: [], helperFound: {} };
  }
}

async function utilLinux(env: NodeJS.ProcessEnv): Promise<DoctorFacts["tools"]> {
  const flock = findExecutable("flock", env.PATH ?? "");
  const setpriv = findExecutable("setpriv", env.PATH ?? "");
  let pdeathsig = false;
  if (setpriv.ok) {
    const h = await run(setpriv.path, ["--help"], { timeoutMs: TIMEOUT_MS }).catch(() => undefined);
    pdeathsig = Boolean(h && `${h.stdout}${h.stderr}`.includes("--pdeathsig"));
  }
  return {
    ...(flock.ok ? { flock: flock.path } : {}),
    ...(setpriv.ok ? { setpriv: setpriv.path } : {}),
    pdeathsig,
  };
}

export async function gatherFacts(
  config: Config,
  configPath: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<DoctorFacts> {
  const groups = readDb("/etc/group");
  const users = readDb("/etc/passwd");
  const uid = process.getuid?.() ?? -1;
  let name = users.find((u) => Number(u[2]) === uid)?.[0];
  try {
    name ??= userInfo().username;
  } catch {
    // no passwd entry (a container with an arbitrary uid)
  }
  name ??= String(uid);
  const primary = process.getgid?.() ?? -1;
  const listedIn = groups
    .filter((g) => (g[3] ?? "").split(",").includes(name!) || Number(g[2]) === primary)
    .map((g) => Number(g[2]));
  const [docker, d, tools] = await Promise.all([
    dockerClient(config.docker, env),
    daemon(env),
    utilLinux(env),
  ]);
  let socket: DoctorFacts["socket"];
  if (d.endpoint && "socketPath" in d.endpoint) {
    try {
      const st = statSync(d.endpoint.socketPath);
      socket = { path: d.endpoint.socketPath, uid: st.uid, gid: st.gid, mode: st.mode };
    } catch {
      // no socket: the daemon check says so
    }
  }
  return {
    now: Date.now(),
    configPath,
    docker,
    daemon: d.d,
    ...(socket ? { socket } : {}),
    runDir: dirFacts(config.runDir),
    stateDir: dirFacts(config.stateDir),
    user: { uid, name, groups: [...new Set([...(process.getgroups?.() ?? []), primary])], listedIn },
    groupName: (gid) => groups.find((g) => Number(g[2]) === gid)?.[0] ?? String(gid),
    userName: (id) => users.find((u) => Number(u[2]) === id)?.[0] ?? String(id),
    tools,
    dockerConfig: dockerConfigFacts(env),
  };
}
