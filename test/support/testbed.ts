// A real Docker testbed for integration tests (see ../shared/TESTBED.md): a private dockerd and a
// private distribution registry per test file, each on its own paths, socket and ports, stopped by
// PID. Images are pushed straight to the registry over its HTTP API (no builder needed): a shared
// busybox layer plus a layer of seeded random bytes for size. Nothing here touches the machine's
// own engine, if it has one.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";

export const DOCKERD = process.env.IMAGEKEEPER_TEST_DOCKERD ?? "/usr/sbin/dockerd";
export const REGISTRY = process.env.IMAGEKEEPER_TEST_REGISTRY ?? "/usr/bin/docker-registry";
export const BUSYBOX = process.env.IMAGEKEEPER_TEST_BUSYBOX ?? "/bin/busybox";

/** The docker client: the newest one available (it needs `docker stack config`). */
export const DOCKER_CLI = process.env.IMAGEKEEPER_TEST_DOCKER ?? "docker";

export function tempDir(prefix = "ik"): string {
  // Short paths: unix socket paths are limited to 108 bytes.
  return mkdtempSync(path.join(tmpdir(), `${prefix}-`));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function httpStatus(opts: http.RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ timeout: 2000, ...opts }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

async function stopPid(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------------------------------------
// Registry

export interface Registry {
  /** host:port, for image references (127.0.0.1:PORT/name:tag). */
  host: string;
  url: string;
  pid: number;
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startRegistry(
  opts: { htpasswd?: { user: string; password: string } } = {},
): Promise<Registry> {
  const dir = tempDir("ikreg");
  const port = await freePort();
  const storage = path.join(dir, "storage");
  mkdirSync(storage);
  let auth = "";
  if (opts.htpasswd) {
    const file = path.join(dir, "htpasswd");
    // bcrypt entry, as the registry's htpasswd auth requires; the password goes on stdin.
    const line = execFileSync("htpasswd", ["-niB", opts.htpasswd.user], {
      input: `${opts.htpasswd.password}\n`,
    })
      .toString()
      .trim();
    writeFileSync(file, `${line}\n`);
    auth = `auth:\n  htpasswd:\n    realm: imagekeeper-test\n    path: ${file}\n`;
  }
  const config = path.join(dir, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`,
  );
  const logFile = path.join(dir, "registry.log");
  const log = createWriteStream(logFile);
  const child = spawn(REGISTRY, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  await waitFor("the registry", async () => {
    const s = await httpStatus({ host: "127.0.0.1", port, path: "/v2/" });
    return s === 200 || s === 401;
  });
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    dir,
    logFile,
    async stop() {
      await stopPid(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// dockerd

export interface Daemon {
  socket: string;
  /** Environment for docker clients talking to this daemon (and for imagekeeper). */
  env: Record<string, string>;
  pid: number;
  dataRoot: string;
  dir: string;
  logFile: string;
  /**
   * Run the docker client against this daemon; throws on failure. Synchronous: it blocks this
   * process's event loop, so never use it for commands that reach an in-process proxy (dockerAsync).
   */
  docker(args: string[], opts?: { input?: string; env?: Record<string, string> }): string;
  /**
   * Make this daemon a one-node swarm on free ports: test daemons share the host's network, so the
   * default 2377 (and VXLAN 4789) would clash between test files running in parallel.
   */
  swarmInit(): Promise<void>;
  /** The same, without blocking the event loop. Rejects with docker's stderr on failure. */
  dockerAsync(args: string[], opts?: { env?: Record<string, string> }): Promise<string>;
  /**
   * Stop dockerd by its PID (SIGTERM, as systemd does; it waits for the exit) and start it again on
   * the same data root, socket and config: images, containers and swarm state survive, its
   * in-memory event log does not. `pid` is the new process's afterwards.
   */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** Stop dockerd by its PID and keep it stopped (start it again with restart()). */
  halt(): Promise<void>;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  mirrors?: string[];
  dataRoot?: string;
  /** Extra daemon.json keys. */
  settings?: Record<string, unknown>;
}

export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  const dir = tempDir("ikd");
  const dataRoot = opts.dataRoot ?? path.join(dir, "data");
  const execRoot = path.join(dir, "exec");
  mkdirSync(dataRoot, { recursive: true });
  mkdirSync(execRoot);
  const socket = path.join(dir, "d.sock");
  const configFile = path.join(dir, "daemon.json");
  // Its own config file: otherwise dockerd reads /etc/docker/daemon.json and may clash.
  writeFileSync(
    configFile,
    JSON.stringify({
      "registry-mirrors": opts.mirrors ?? [],
      "shutdown-timeout": 2,
      "storage-driver": "overlay2",
      ...opts.settings,
    }),
  );
  const logFile = path.join(dir, "dockerd.log");
  const log = createWriteStream(logFile, { flags: "a" });
  const launch = async (): Promise<ChildProcess> => {
    const c = spawn(
      DOCKERD,
      [
        "--config-file",
        configFile,
        "--data-root",
        dataRoot,
        "--exec-root",
        execRoot,
        "--pidfile",
        path.join(dir, "dockerd.pid"),
        "-H",
        `unix://${socket}`,
        "--bridge=none",
        "--iptables=false",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    c.stdout?.pipe(log, { end: false });
    c.stderr?.pipe(log, { end: false });
    await waitFor(
      "dockerd",
      async () => (await httpStatus({ socketPath: socket, path: "/_ping" })) === 200,
      60_000,
    );
    return c;
  };
  let child = await launch();
  const home = path.join(dir, "home");
  mkdirSync(path.join(home, ".docker"), { recursive: true });
  const env = {
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: path.join(home, ".docker"),
    HOME: home,
  };
  const daemon: Daemon = {
    socket,
    env,
    get pid() {
      return child.pid!;
    },
    dataRoot,
    dir,
    logFile,
    docker(args, o = {}) {
      return execFileSync(DOCKER_CLI, args, {
        env: { ...process.env, ...env, ...o.env },
        input: o.input,
        stdio: ["pipe", "pipe", "pipe"],
      }).toString();
    },
    async swarmInit() {
      const port = await freePort();
      const dataPort = await freePort();
      daemon.docker([
        "swarm",
        "init",
        "--advertise-addr",
        `127.0.0.1:${port}`,
        "--listen-addr",
        `127.0.0.1:${port}`,
        "--data-path-port",
        String(dataPort),
      ]);
    },
    dockerAsync(args, o = {}) {
      return new Promise((resolve, reject) => {
        execFile(DOCKER_CLI, args, { env: { ...process.env, ...env, ...o.env } }, (err, stdout, stderr) => {
          if (err) reject(new Error(`docker ${args.join(" ")}: ${stderr}`));
          else resolve(stdout);
        });
      });
    },
    async halt() {
      await stopPid(child);
    },
    async restart(o = {}) {
      await stopPid(child);
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      child = await launch();
    },
    async stop() {
      await stopPid(child);
      // Overlay mounts are gone once dockerd stops cleanly; a stale one must not block rm.
      try {
        execFileSync("sh", ["-c", `grep -o ' ${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
      } catch {
        // nothing mounted
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return daemon;
}

// ---------------------------------------------------------------------------------------------
// Pushing images without a builder

const MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const MT_CONFIG = "application/vnd.docker.container.image.v1+json";
const MT_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

function sha256(b: Buffer): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

/** A deterministic tar of DIR (same content → same digest, so layers are shared as in real life). */
function tarDir(dir: string): Buffer {
  return execFileSync(
    "tar",
    ["-C", dir, "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "."],
    { maxBuffer: 1 << 30 },
  );
}

let busyboxLayer: { tar: Buffer; gz: Buffer } | undefined;
function baseLayer(): { tar: Buffer; gz: Buffer } {
  if (!busyboxLayer) {
    const d = tempDir("iklayer");
    mkdirSync(path.join(d, "bin"));
    execFileSync("cp", [BUSYBOX, path.join(d, "bin", "busybox")]);
    execFileSync("ln", ["-s", "busybox", path.join(d, "bin", "sh")]);
    mkdirSync(path.join(d, "tmp"));
    const tar = tarDir(d);
    rmSync(d, { recursive: true, force: true });
    busyboxLayer = { tar, gz: gzipSync(tar) };
  }
  return busyboxLayer;
}

function dataLayer(sizeBytes: number, seed: string): { tar: Buffer; gz: Buffer } {
  const d = tempDir("iklayer");
  mkdirSync(path.join(d, "data"));
  // Seeded but incompressible bytes: size on disk is what the prune tests reason about. A keystream
  // (AES-256-CTR keyed by the seed) over zeros: the same seed gives the same bytes, several times
  // faster than hashing a counter, which matters for the tens of MiB the disk-pressure tests push.
  const key = createHash("sha256").update(seed).digest();
  const stream = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const bytes = Buffer.concat([stream.update(Buffer.alloc(sizeBytes)), stream.final()]);
  writeFileSync(path.join(d, "data", "blob.bin"), bytes);
  writeFileSync(path.join(d, "data", "seed.txt"), seed);
  const tar = tarDir(d);
  rmSync(d, { recursive: true, force: true });
  return { tar, gz: gzipSync(tar, { level: 1 }) };
}

function registryRequest(
  url: string,
  method: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        headers: { ...headers, ...(body ? { "Content-Length": String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

export interface PushedImage {
  ref: string;
  /** Manifest digest (what a digest reference names). */
  digest: string;
  /** Config digest = the image ID the daemon reports. */
  id: string;
  sizeBytes: number;
}

export interface PushOptions {
  /** Bytes of random data in the image's own layer (default 64 KiB). */
  sizeBytes?: number;
  /** Seed for the data layer; the same seed gives the same image ID. Default: random. */
  seed?: string;
  /**
   * More data layers, between busybox and the image's own: images that list the same size and
   * seed share that layer, as images built on one base do (the cold-prepull benchmark).
   */
  layers?: { sizeBytes: number; seed: string }[];
  cmd?: string[];
  auth?: { user: string; password: string };
  /** An Authorization header instead of `auth` (a Bearer token for a token-auth registry). */
  authorization?: string;
}

/** Push NAME:TAG to the registry at `registry` (host:port). NAME may be `library/nginx`. */
export async function pushImage(
  registry: string,
  name: string,
  tag: string,
  opts: PushOptions = {},
): Promise<PushedImage> {
  const base = `http://${registry}/v2/${name}`;
  const authHeader: Record<string, string> = opts.authorization
    ? { Authorization: opts.authorization }
    : opts.auth
      ? {
          Authorization: `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString("base64")}`,
        }
      : {};
  const seed = opts.seed ?? randomBytes(8).toString("hex");
  const layers = [
    baseLayer(),
    ...(opts.layers ?? []).map((l) => dataLayer(l.sizeBytes, l.seed)),
    dataLayer(opts.sizeBytes ?? 65_536, seed),
  ];
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: "linux",
      created: "2024-01-01T00:00:00Z",
      config: {
        Cmd: opts.cmd ?? ["/bin/busybox", "sleep", "3600"],
        Labels: { "imagekeeper.test.seed": seed },
      },
      rootfs: { type: "layers", diff_ids: layers.map((l) => sha256(l.tar)) },
    }),
  );
  const upload = async (blob: Buffer) => {
    const digest = sha256(blob);
    const head = await registryRequest(`${base}/blobs/${digest}`, "HEAD", undefined, authHeader);
    if (head.status === 200) return digest;
    const start = await registryRequest(`${base}/blobs/uploads/`, "POST", undefined, authHeader);
    if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${start.body}`);
    const loc = new URL(String(start.headers.location), `http://${registry}`);
    loc.searchParams.set("digest", digest);
    const put = await registryRequest(loc.toString(), "PUT", blob, {
      ...authHeader,
      "Content-Type": "application/octet-stream",
    });
    if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${put.body}`);
    return digest;
  };
  for (const l of layers) await upload(l.gz);
  await upload(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT_MANIFEST,
      config: { mediaType: MT_CONFIG, size: config.length, digest: sha256(config) },
      layers: layers.map((l) => ({ mediaType: MT_LAYER, size: l.gz.length, digest: sha256(l.gz) })),
    }),
  );
  const put = await registryRequest(`${base}/manifests/${tag}`, "PUT", manifest, {
    ...authHeader,
    "Content-Type": MT_MANIFEST,
  });
  if (put.status !== 201) throw new Error(`manifest put ${name}:${tag}: ${put.status} ${put.body}`);
  return {
    ref: `${registry}/${name}:${tag}`,
    digest: sha256(manifest),
    id: sha256(config),
    sizeBytes: layers.reduce((n, l) => n + l.tar.length, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Loop-mounted small filesystems (disk pressure)

export interface LoopDisk {
  dir: string;
  unmount(): void;
}

export function makeLoopDisk(sizeMiB: number): LoopDisk {
  const dir = tempDir("ikloop");
  const img = `${dir}.img`;
  execFileSync("truncate", ["-s", `${sizeMiB}M`, img]);
  execFileSync("mkfs.ext4", ["-q", "-F", img]);
  execFileSync("mount", ["-o", "loop", img, dir]);
  return {
    dir,
    unmount() {
      try {
        execFileSync("umount", [dir]);
      } catch {
        execFileSync("umount", ["-l", dir]);
      }
      rmSync(img, { force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
