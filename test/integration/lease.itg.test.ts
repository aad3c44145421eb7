// Run leases end to end: the bundled CLI (`run`, `lease acquire`, `lease release`) as real
// processes against the library the prune codes against (tryExclusive, listLeases), called here
// in-process. Real flock(2) locks, real signals, real SIGKILLs; no Docker needed.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type ExclusiveLock, listLeases, tryExclusive } from "../../src/lease/lease.js";
import { identify, readProcStat } from "../../src/lease/proc.js";
import { bundleScript } from "../support/bundle.js";
import { rng, seedFrom } from "../support/random.js";

const bin = inject("imagekeeperBin");
const root = mkdtempSync(path.join(tmpdir(), "iklease-"));
const configFile = path.join(root, "config.json");
// No gap prunes before runs: these tests have no Docker daemon (and must never reach a machine's
// own through the default socket); the drain and gap prunes are test/integration/drain.itg.test.ts.
writeFileSync(configFile, JSON.stringify({ prune: { beforeRuns: false } }));

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Cli {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  done: Promise<Done>;
}

const started: ChildProcess[] = [];

function spawnNode(args: string[], runDir: string): Cli {
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      IMAGEKEEPER_RUN_DIR: runDir,
      IMAGEKEEPER_STATE_DIR: path.join(root, "state"),
      IMAGEKEEPER_CONFIG: configFile,
      IMAGEKEEPER_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const done = new Promise<Done>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  if (child.pid === undefined) throw new Error("spawn failed");
  return { child, pid: child.pid, stdout: () => out, stderr: () => err, done };
}

// As the launchers start it: `--` keeps an `--env-file` of ours from being Node's (nodejs/node#54232).
const cli = (args: string[], runDir: string) => spawnNode(["--", bin, ...args], runDir);

let dirCount = 0;
function newRunDir(): string {
  // A missing directory: the CLI and the library must create it.
  return path.join(root, `run${++dirCount}`, "imagekeeper");
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// The library as a separate process (test/support/lease-actor.ts), bundled like the CLI.
const actor = path.join(root, "lease-actor.mjs");
beforeAll(async () => {
  copyFileSync(await bundleScript(path.join(import.meta.dirname, "../support/lease-actor.ts")), actor);
});

const held: ExclusiveLock[] = [];
async function mustLock(runDir: string): Promise<ExclusiveLock> {
  const r = await tryExclusive(runDir);
  if (!r.ok) throw new Error(`expected the exclusive lock, got leases ${JSON.stringify(r.leases)}`);
  held.push(r.lock);
  return r.lock;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
    if (text) out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

const alive = (pid: number) => {
  const st = readProcStat(pid);
  return st !== undefined && st.state !== "Z";
};

afterEach(async () => {
  for (const l of held.splice(0)) await l.release();
});

afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

describe("imagekeeper run", () => {
  it("passes CMD's exit status through, a signal death as 128+n", async () => {
    const rd = newRunDir();
    expect((await cli(["run", "--", "sh", "-c", "exit 7"], rd).done).code).toBe(7);
    expect((await cli(["run", "--", "sh", "-c", "kill -KILL $$"], rd).done).code).toBe(137);
    expect((await cli(["run", "--", "true"], rd).done).code).toBe(0);
    const missing = await cli(["run", "--", "no-such-command-ik"], rd).done;
    expect(missing.code).toBe(127);
    // CMD's stdout is imagekeeper's own (inherited, not buffered and re-printed).
    const echo = await cli(["run", "--", "sh", "-c", "echo hello; echo oops >&2"], rd).done;
    expect(echo.stdout).toBe("hello\n");
    expect(echo.stderr).toContain("oops");
  });

  it("rejects a missing CMD and flags after the command name", async () => {
    const rd = newRunDir();
    const none = await cli(["run"], rd).done;
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no command given");
    expect((await cli(["run", "sleep", "1"], rd).done).code).toBe(2);
    expect((await cli(["run", "--wait", "soon", "--", "true"], rd).done).code).toBe(2);
  });

  it.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
    ["SIGHUP", 129],
  ] as const)("forwards %s to CMD and exits with its status", async (sig, status) => {
    const rd = newRunDir();
    const r = cli(["run", "--", "sleep", "30"], rd);
    await until("the lease", async () => (await listLeases(rd)).length === 1);
    r.child.kill(sig);
    const d = await r.done;
    expect(d.signal).toBeNull();
    expect(d.code).toBe(status);
  });

  it("lets CMD handle a forwarded signal and passes its own exit code on", async () => {
    const rd = newRunDir();
    const script = 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.05; done';
    const r = cli(["run", "--", "sh", "-c", script], rd);
    await until("ready", () => r.stdout().includes("ready"));
    r.child.kill("SIGTERM");
    const d = await r.done;
    expect(d.code).toBe(42);
    expect(d.stdout).toContain("got-term");
  });

  it("holds a lease the prune sees; SIGKILL of imagekeeper frees the lock at once", async () => {
    const rd = newRunDir();
    const r = cli(["run", "--", "sleep", "30"], rd);
    await until("the lease", async () => (await listLeases(rd)).length === 1);
    const busy = await tryExclusive(rd);
    expect(busy.ok).toBe(false);
    if (busy.ok) return;
    expect(busy.leases).toHaveLength(1);
    expect(busy.leases[0]).toMatchObject({ kind: "run", pid: r.pid, command: "sleep 30" });
    expect(busy.leases[0]?.expiresAt).toBeUndefined();
    expect(Date.parse(busy.leases[0]?.since ?? "")).toBeLessThanOrEqual(Date.now());

    const [cmdPid] = childrenOf(r.pid).filter((p) => readProcStat(p)?.comm === "sleep");
    expect(cmdPid).toBeDefined();
    r.child.kill("SIGKILL");
    await r.done;
    // No polling: the kernel released the lock when the process died.
    const lock = await mustLock(rd);
    await lock.release();
    expect(await listLeases(rd)).toEqual([]);
    expect(readdirSync(rd).filter((f) => f.endsWith(".json"))).toEqual([]);
    // The orphaned CMD was told to stop (parent-death signal), not left running unprotected.
    await until("CMD to die", () => !alive(cmdPid!), 5000);
  });

  it("waits while a prune holds the lock, then runs CMD", async () => {
    const rd = newRunDir();
    const lock = await mustLock(rd);
    const r = cli(["run", "--wait", "30s", "--", "sh", "-c", "echo started"], rd);
    await until("the run to report waiting", () => r.stderr().includes("waiting up to"));
    expect(r.stderr()).toContain(`pid ${process.pid}`);
    await new Promise((res) => setTimeout(res, 500));
    expect(r.stdout()).toBe("");
    expect(r.child.exitCode).toBeNull();
    await lock.release();
    const d = await r.done;
    expect(d.code).toBe(0);
    expect(d.stdout).toBe("started\n");
  });

  it("a SIGKILLed prune lets a waiting run through at once", async () => {
    const rd = newRunDir();
    const log = path.join(root, "killed-prune.log");
    writeFileSync(log, "");
    const prune = spawnNode([actor, "prune", rd, log, "p", '[{"holdMs":60000,"gapMs":0}]'], rd);
    await until("the prune to hold", () => readFileSync(log, "utf8").includes("E P p.0"));
    const r = cli(["run", "--wait", "60s", "--", "sh", "-c", "echo started"], rd);
    await until("the run to report waiting", () => r.stderr().includes("waiting up to"));
    const killedAt = Date.now();
    process.kill(prune.pid, "SIGKILL");
    const d = await r.done;
    expect(d.code).toBe(0);
    expect(d.stdout).toBe("started\n");
    expect(Date.now() - killedAt).toBeLessThan(3000);
  });

  it("gives up after --wait with exit 4 and a hint, without starting CMD", async () => {
    const rd = newRunDir();
    await mustLock(rd);
    const t0 = Date.now();
    const d = await cli(["run", "--wait", "400ms", "--", "sh", "-c", "echo started"], rd).done;
    expect(d.code).toBe(4);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(d.stdout).toBe("");
    expect(d.stderr).toContain("still held the lease lock");
    expect(d.stderr).toContain("fix: ");
    const acq = await cli(["lease", "acquire", "--wait", "200ms"], rd).done;
    expect(acq.code).toBe(4);
    expect(acq.stdout).toBe("");
  });

  it("stops waiting on SIGTERM and never starts CMD", async () => {
    const rd = newRunDir();
    await mustLock(rd);
    const r = cli(["run", "--", "sh", "-c", "echo started"], rd);
    await until("the run to report waiting", () => r.stderr().includes("waiting up to"));
    r.child.kill("SIGTERM");
    const d = await r.done;
    expect(d.code).toBe(143);
    expect(d.stdout).toBe("");
  });

  it("creates the run dir (and its missing parent) sticky, setgid and group-writable, lock and records group-readable", async () => {
    const rd = newRunDir();
    const r = cli(["run", "--", "sleep", "30"], rd);
    await until("the lease", async () => (await listLeases(rd)).length === 1);
    expect(statSync(rd).mode & 0o7777).toBe(0o3770);
    expect(statSync(path.dirname(rd)).mode & 0o7777).toBe(0o3770);
    expect(statSync(path.join(rd, "lease.lock")).mode & 0o777).toBe(0o440);
    const rec = readdirSync(rd).find((f) => f.startsWith("lease.run-"));
    expect(statSync(path.join(rd, rec!)).mode & 0o777).toBe(0o640);
    r.child.kill("SIGTERM");
    await r.done;
  });
});

describe("imagekeeper lease acquire / release", () => {
  it("holds a lease after the CLI exits, until release", async () => {
    const rd = newRunDir();
    // As a runner calls it: the command substitution must end when the CLI does (the holder may
    // not keep stdout open).
    const t0 = Date.now();
    const acq = spawn(
      "sh",
      ["-c", `id=$("${process.execPath}" -- "${bin}" lease acquire --id job-1 --ttl 1m); echo "$id"`],
      {
        env: { ...process.env, IMAGEKEEPER_RUN_DIR: rd, IMAGEKEEPER_CONFIG: configFile },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    acq.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    const code = await new Promise((res) => acq.on("close", res));
    expect(code).toBe(0);
    expect(out).toBe("job-1\n");
    expect(Date.now() - t0).toBeLessThan(5000);

    const busy = await tryExclusive(rd);
    expect(busy.ok).toBe(false);
    if (busy.ok) return;
    expect(busy.leases).toHaveLength(1);
    const lease = busy.leases[0]!;
    expect(lease).toMatchObject({ id: "job-1", kind: "acquired" });
    expect(lease.command).toMatch(/^lease acquire by sh \(pid \d+\)$/);
    const ttl = Date.parse(lease.expiresAt!) - Date.parse(lease.since);
    expect(ttl).toBe(60_000);
    expect(readProcStat(lease.pid)?.comm).toBe("sleep");

    const rel = await cli(["lease", "release", "job-1"], rd).done;
    expect(rel.code).toBe(0);
    // Released before the command returned: no polling.
    const lock = await mustLock(rd);
    await lock.release();
    expect(alive(lease.pid)).toBe(false);
    expect(await listLeases(rd)).toEqual([]);

    // Idempotent: a second release warns and succeeds.
    const again = await cli(["lease", "release", "job-1"], rd).done;
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("nothing to release");
  });

  it("renews a live id with a new holder, never dropping the lock", async () => {
    const rd = newRunDir();
    const first = await cli(["lease", "acquire", "--id", "job-2", "--ttl", "1m"], rd).done;
    expect(first.stdout).toBe("job-2\n");
    const [before] = await listLeases(rd);
    const second = await cli(["lease", "acquire", "--id", "job-2", "--ttl", "2m", "--label", "nightly"], rd)
      .done;
    expect(second.code).toBe(0);
    expect(second.stdout).toBe("job-2\n");
    const after = await listLeases(rd);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: "job-2", command: "nightly" });
    expect(after[0]?.pid).not.toBe(before?.pid);
    expect(alive(before!.pid)).toBe(false);
    expect((await tryExclusive(rd)).ok).toBe(false);
    expect((await cli(["lease", "release", "job-2"], rd).done).code).toBe(0);
    await (await mustLock(rd)).release();
  });

  it("ends by itself when the TTL runs out", async () => {
    const rd = newRunDir();
    const acq = await cli(["lease", "acquire", "--ttl", "1s"], rd).done;
    expect(acq.code).toBe(0);
    const id = acq.stdout.trim();
    expect(id).toMatch(/^lease-[0-9a-f]{12}$/);
    expect((await tryExclusive(rd)).ok).toBe(false);
    await until("the TTL to end", async () => {
      const r = await tryExclusive(rd);
      if (r.ok) held.push(r.lock);
      return r.ok;
    });
    expect(await listLeases(rd)).toEqual([]);
    const rel = await cli(["lease", "release", id], rd).done;
    expect(rel.code).toBe(0);
    expect(rel.stderr).toContain("nothing to release");
  });

  it("refuses malformed ids and a run's lease", async () => {
    const rd = newRunDir();
    expect((await cli(["lease", "release", "../etc/passwd"], rd).done).code).toBe(2);
    expect((await cli(["lease", "acquire", "--id", ".hidden"], rd).done).code).toBe(2);
    expect((await cli(["lease", "acquire", "--ttl", "0s"], rd).done).code).toBe(2);
    expect((await cli(["lease", "release"], rd).done).code).toBe(2);
    const r = cli(["run", "--", "sleep", "30"], rd);
    await until("the lease", async () => (await listLeases(rd)).length === 1);
    const [lease] = await listLeases(rd);
    const rel = await cli(["lease", "release", lease!.id], rd).done;
    expect(rel.code).toBe(2);
    expect(rel.stderr).toContain("ends with its command");
    expect(r.child.exitCode).toBeNull();
    r.child.kill("SIGTERM");
    expect((await r.done).code).toBe(143);
  });
});

describe("permissions: a runner and a prune service as two users sharing a group", () => {
  const RUNNER = 41001;
  const PRUNER = 41002;
  const GROUP = 41000;
  const isRoot = process.getuid?.() === 0;

  /** Run node as `uid` with the shared group as a supplementary group, under umask 077. */
  function asUser(uid: number, rd: string, args: string[]): Cli {
    const argv = ["--reuid", String(uid), "--regid", String(uid), "--groups", String(GROUP), "--"];
    const child = spawn(
      "setpriv",
      [...argv, "sh", "-c", 'umask 077; exec "$@"', "sh", process.execPath, "--", ...args],
      {
        env: { ...process.env, IMAGEKEEPER_RUN_DIR: rd, IMAGEKEEPER_CONFIG: configFile, HOME: "/" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    started.push(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    const done = new Promise<Done>((resolve) => {
      child.on("close", (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
    });
    return { child, pid: child.pid!, stdout: () => out, stderr: () => err, done };
  }

  /** Run a plain command as `uid` (with the shared group); its exit status. */
  const shAs = (uid: number, script: string) =>
    spawnSync(
      "setpriv",
      ["--reuid", String(uid), "--regid", String(uid), "--groups", String(GROUP), "--", "sh", "-c", script],
      { encoding: "utf8" },
    ).status;

  it.skipIf(!isRoot)(
    "shares leases both ways through the setgid, sticky run dir, whoever creates the files",
    async () => {
      // The other users must reach the bundles and the config.
      chmodSync(root, 0o755);
      const ik = path.join(root, "ik-shared.mjs");
      copyFileSync(bin, ik);
      chmodSync(ik, 0o755);
      // As systemd-tmpfiles would make the parent: root-owned, the shared group, setgid, sticky.
      const parent = path.join(root, "shared");
      mkdirSync(parent);
      chownSync(parent, 0, GROUP);
      chmodSync(parent, 0o3770);
      const log = path.join(root, "shared.log");
      writeFileSync(log, "");
      chmodSync(log, 0o666);
      const prune = (rd: string) =>
        asUser(PRUNER, rd, [actor, "prune", rd, log, "p", '[{"holdMs":0,"gapMs":0}]']);
      const list = async (rd: string) =>
        JSON.parse((await asUser(PRUNER, rd, [actor, "list", rd]).done).stdout);

      // The runner comes first and creates the run dir, lock and record.
      const rd = path.join(parent, "imagekeeper");
      const run = asUser(RUNNER, rd, [ik, "run", "--", "sleep", "30"]);
      await until(
        "the run's record",
        () => existsSync(rd) && readdirSync(rd).some((f) => f.startsWith("lease.run-")),
      );
      expect(statSync(rd)).toMatchObject({ uid: RUNNER, gid: GROUP });
      expect(statSync(rd).mode & 0o7777).toBe(0o3770);
      const lock = path.join(rd, "lease.lock");
      expect(statSync(lock)).toMatchObject({ uid: RUNNER, gid: GROUP });
      expect(statSync(lock).mode & 0o777).toBe(0o440);
      expect((await prune(rd).done).stdout).toBe("deferred\n");
      expect((await list(rd)).map((l: { pid: number }) => l.pid)).toEqual([run.pid]);
      // The sticky bit: the other member can neither delete nor replace the lock or the record.
      const [record] = readdirSync(rd).filter((f) => f.endsWith(".json"));
      const lockIno = statSync(lock).ino;
      expect(shAs(PRUNER, `rm -f "${lock}"`)).not.toBe(0);
      expect(shAs(PRUNER, `touch "${rd}/x" && mv -f "${rd}/x" "${lock}"`)).not.toBe(0);
      expect(shAs(PRUNER, `rm -f "${rd}/${record}"`)).not.toBe(0);
      expect(statSync(lock).ino).toBe(lockIno);
      // Nor write the other's record (0640).
      expect(shAs(PRUNER, `echo '{}' > "${rd}/${record}"`)).not.toBe(0);
      // SIGKILL the runner: the prune service gets in. The runner's stale record stays (only its
      // owner may remove it) and counts for nothing.
      process.kill(run.pid, "SIGKILL");
      await run.done;
      expect((await prune(rd).done).stdout).toBe("ok\n");
      expect(await list(rd)).toEqual([]);
      expect(readdirSync(rd).filter((f) => f.endsWith(".json"))).toEqual([record]);
      // The runner's own next listing clears it.
      expect((await asUser(RUNNER, rd, [actor, "list", rd]).done).stdout).toBe("[]\n");
      expect(readdirSync(rd).filter((f) => f.endsWith(".json"))).toEqual([]);

      // The prune service comes first in a fresh dir; the runner uses what it created.
      const rd2 = path.join(parent, "second");
      expect((await prune(rd2).done).stdout).toBe("ok\n");
      expect(statSync(path.join(rd2, "lease.lock"))).toMatchObject({ uid: PRUNER, gid: GROUP });
      expect((await asUser(RUNNER, rd2, [ik, "run", "--", "true"]).done).code).toBe(0);
      const acq = await asUser(RUNNER, rd2, [ik, "lease", "acquire", "--id", "shared-1"]).done;
      expect(acq.code).toBe(0);
      expect((await prune(rd2).done).stdout).toBe("deferred\n");
      // Only the acquiring user (or root) can stop its holder.
      const foreign = await asUser(PRUNER, rd2, [ik, "lease", "release", "shared-1"]).done;
      expect(foreign.code).toBe(70);
      expect(foreign.stderr).toContain("as the user that acquired it");
      expect((await asUser(RUNNER, rd2, [ik, "lease", "release", "shared-1"]).done).code).toBe(0);
      expect((await prune(rd2).done).stdout).toBe("ok\n");

      // As docs/leases.md recommends: the run dir and lease.lock made by root (systemd-tmpfiles).
      // Then no member can delete the lock, not even the first one to use it.
      const rd3 = path.join(root, "tmpfiles");
      mkdirSync(rd3);
      chownSync(rd3, 0, GROUP);
      chmodSync(rd3, 0o3770);
      writeFileSync(path.join(rd3, "lease.lock"), "");
      chownSync(path.join(rd3, "lease.lock"), 0, GROUP);
      chmodSync(path.join(rd3, "lease.lock"), 0o440);
      expect((await asUser(RUNNER, rd3, [ik, "run", "--", "true"]).done).code).toBe(0);
      expect((await prune(rd3).done).stdout).toBe("ok\n");
      for (const who of [RUNNER, PRUNER]) expect(shAs(who, `rm -f "${rd3}/lease.lock"`)).not.toBe(0);
      expect(existsSync(path.join(rd3, "lease.lock"))).toBe(true);
    },
  );
});

describe("stale records", () => {
  function writeRecord(rd: string, rec: Record<string, unknown>) {
    writeFileSync(path.join(rd, `lease.${String(rec.id)}.json`), JSON.stringify(rec));
  }

  it("PID reuse cannot keep a dead lease alive, nor make release kill a stranger", async () => {
    const rd = newRunDir();
    await (await mustLock(rd)).release(); // creates the run dir
    const stranger = spawn("sleep", ["30"], { stdio: "ignore" });
    started.push(stranger);
    const me = identify(stranger.pid!)!;
    const base = {
      v: 1,
      command: "ci job",
      since: new Date().toISOString(),
      kind: "acquired",
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    };
    // The recorded pid now belongs to another process (a different start time), or the record
    // is from before a reboot: neither counts, and listing removes them.
    writeRecord(rd, { ...base, id: "reused", pid: me.pid, startTime: me.startTime - 1, bootId: me.bootId });
    writeRecord(rd, { ...base, id: "old-boot", pid: me.pid, startTime: me.startTime, bootId: "x" });
    expect(await listLeases(rd)).toEqual([]);
    expect(existsSync(path.join(rd, "lease.reused.json"))).toBe(false);
    await (await mustLock(rd)).release();

    writeRecord(rd, { ...base, id: "reused", pid: me.pid, startTime: me.startTime - 1, bootId: me.bootId });
    const rel = await cli(["lease", "release", "reused"], rd).done;
    expect(rel.code).toBe(0);
    expect(rel.stderr).toContain("already ended");
    expect(alive(me.pid)).toBe(true);

    // Even a record naming a live process exactly is no lease: a record counts only while its
    // holder keeps it locked, and only the lease lock decides.
    writeRecord(rd, { ...base, id: "forged", ...me });
    expect(await listLeases(rd)).toEqual([]);
    expect(existsSync(path.join(rd, "lease.forged.json"))).toBe(false);
    await (await mustLock(rd)).release();
    expect(alive(me.pid)).toBe(true);
    stranger.kill("SIGKILL");
  });

  // A new pid namespace with its own /proc shows none of the holders, as systemd's
  // ProtectProc=invisible (or hidepid=) does to a prune service running as another user.
  const canUnshare = (() => {
    try {
      execFileSync("unshare", ["--pid", "--fork", "--mount-proc", "true"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!canUnshare)("lists leases whose holders /proc does not show", async () => {
    const rd = newRunDir();
    const r = cli(["run", "--", "sleep", "30"], rd);
    const acq = await cli(["lease", "acquire", "--id", "job-ns"], rd).done;
    expect(acq.code).toBe(0);
    await until("both leases", async () => (await listLeases(rd)).length === 2);
    const inNs = (argv: string[]) =>
      execFileSync("unshare", ["--pid", "--fork", "--mount-proc", ...argv], { encoding: "utf8" });
    expect(inNs(["sh", "-c", `test -e /proc/${r.pid} && echo visible || echo hidden`])).toBe("hidden\n");
    const seen = JSON.parse(inNs([process.execPath, actor, "list", rd])) as { id: string; kind: string }[];
    expect(seen.map((l) => l.kind).sort()).toEqual(["acquired", "run"]);
    expect(seen.map((l) => l.id)).toContain("job-ns");
    r.child.kill("SIGTERM");
    await r.done;
    expect((await cli(["lease", "release", "job-ns"], rd).done).code).toBe(0);
    await (await mustLock(rd)).release();
  });

  it("ignores records that are not lease records", async () => {
    const rd = newRunDir();
    await (await mustLock(rd)).release();
    writeFileSync(path.join(rd, "lease.junk.json"), "{not json");
    writeFileSync(path.join(rd, "lease.bad.json"), JSON.stringify({ v: 1, id: "bad", pid: -1 }));
    writeFileSync(path.join(rd, "notes.txt"), "hello");
    expect(await listLeases(rd)).toEqual([]);
  });
});

// ---- the race: hundreds of runs and prunes, some SIGKILLed, never overlapping ----

/**
 * Check the log: each line is "E|X P|R name" (enter/exit while holding) or "K name" (the driver,
 * just before it SIGKILLed that actor). Appends to one O_APPEND file are totally ordered, and every
 * record is written while its writer holds the lock (a kill marker while the actor still lives),
 * so line order is enough: no clocks. Returns the violations.
 */
function overlaps(lines: string[]): string[] {
  const openRuns = new Set<string>();
  const openPrunes = new Set<string>();
  const killed = new Set<string>();
  const actorOf = (name: string) => name.replace(/\.\d+$/, "");
  const bad: string[] = [];
  lines.forEach((line, n) => {
    const [op, a, b] = line.split(" ");
    if (op === "K") {
      killed.add(a!);
      for (const s of [openRuns, openPrunes]) for (const x of s) if (actorOf(x) === a) s.delete(x);
      return;
    }
    const kind = a;
    const name = b!;
    if (killed.has(actorOf(name))) return; // an orphan's late write after its kill
    if (op === "E" && kind === "P") {
      if (openRuns.size || openPrunes.size)
        bad.push(
          `line ${n + 1}: prune ${name} entered while ${[...openRuns, ...openPrunes].join(", ")} held`,
        );
      openPrunes.add(name);
    } else if (op === "E" && kind === "R") {
      if (openPrunes.size)
        bad.push(`line ${n + 1}: run ${name} entered while prune ${[...openPrunes].join(", ")} held`);
      openRuns.add(name);
    } else if (op === "X") {
      (kind === "P" ? openPrunes : openRuns).delete(name);
    }
  });
  return bad;
}

/** How many kill markers hit an actor inside an enter/exit pair. */
function killedWhileHolding(lines: string[]): number {
  const open = new Set<string>();
  let n = 0;
  for (const line of lines) {
    const [op, a, b] = line.split(" ");
    const actor = (op === "K" ? a! : b!).replace(/\.\d+$/, "");
    if (op === "E") open.add(actor);
    else if (op === "X") open.delete(actor);
    else if (op === "K" && open.delete(actor)) n++;
  }
  return n;
}

describe("runs and prunes never overlap", () => {
  it("the sweep catches an overlap (self-check)", () => {
    expect(overlaps(["E R r1", "E P p1.0", "X P p1.0", "X R r1"])).toHaveLength(1);
    expect(overlaps(["E P p1.0", "E R r1", "X R r1", "X P p1.0"])).toHaveLength(1);
    expect(overlaps(["E R r1", "E R r2", "X R r1", "X R r2", "E P p1.0", "X P p1.0"])).toEqual([]);
    expect(overlaps(["E P p1.0", "K p1", "E R r1", "X R r1"])).toEqual([]);
    expect(overlaps(["E P p1.0", "E P p2.0"])).toHaveLength(1);
  });

  it("holds under a seeded random schedule", async () => {
    const seed = seedFrom("LEASE_RACE_SEED");
    const rand = rng(seed);
    const rd = newRunDir();
    const log = path.join(root, `race-${seed}.log`);
    writeFileSync(log, "");
    const RUNS = 80;
    const PRUNERS = 40; // each makes 1 to 6 attempts: ~140 prune attempts, ~220 actors in all
    const MAX_LIVE = 6;
    type Kill = "none" | "random" | "holding";
    const actors: { kind: "R" | "P"; name: string; kill: Kill }[] = [];
    // Kills: a few actors at a random moment (waiting, holding or starting up), and a fixed share
    // the moment their log shows them holding, so every run of the test kills holders.
    const killOf = (i: number, every: number): Kill =>
      i % every === every - 1 ? "holding" : rand() < 0.06 ? "random" : "none";
    for (let i = 0; i < RUNS; i++) actors.push({ kind: "R", name: `r${i}`, kill: killOf(i, 12) });
    for (let i = 0; i < PRUNERS; i++) actors.push({ kind: "P", name: `p${i}`, kill: killOf(i, 8) });
    for (let i = actors.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [actors[i], actors[j]] = [actors[j]!, actors[i]!];
    }

    const stats = {
      runsOk: 0,
      runsWaited: 0,
      prunesOk: 0,
      prunesDeferred: 0,
      killed: 0,
      killedHolding: 0,
    };
    const failures: string[] = [];
    const killed = new Set<string>();
    const kill = (name: string, proc: Cli) => {
      if (killed.has(name) || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      // The marker goes first, while the actor is still alive (and holding, if it is).
      writeFileSync(log, `K ${name}\n`, { flag: "a" });
      killed.add(name);
      stats.killed++;
      process.kill(proc.pid, "SIGKILL");
    };
    const watched = new Map<string, Cli>();
    const watcher = setInterval(() => {
      if (watched.size === 0) return;
      const text = readFileSync(log, "utf8");
      for (const [name, proc] of watched) {
        if (text.includes(`E R ${name}\n`) || text.includes(`E P ${name}.`)) {
          watched.delete(name);
          kill(name, proc);
        }
      }
    }, 5);
    const t0 = Date.now();
    const live = new Set<Promise<void>>();
    for (const a of actors) {
      while (live.size >= MAX_LIVE) await Promise.race(live);
      await new Promise((r) => setTimeout(r, rand() * 15));
      let proc: Cli;
      if (a.kind === "R") {
        // A holding-kill target holds long enough for the watcher to see it inside.
        const hold = a.kill === "holding" ? "0.5" : (rand() * 0.06).toFixed(3);
        const body = 'echo "E R $1" >> "$2"; sleep "$3"; echo "X R $1" >> "$2"';
        proc = cli(["run", "--wait", "30s", "--", "sh", "-c", body, "sh", a.name, log, hold], rd);
      } else {
        const plan = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => ({
          holdMs: a.kill === "holding" ? 500 : Math.floor(rand() * 40),
          gapMs: Math.floor(rand() * 30),
        }));
        proc = spawnNode([actor, "prune", rd, log, a.name, JSON.stringify(plan)], rd);
      }
      let timer: NodeJS.Timeout | undefined;
      if (a.kill === "random") timer = setTimeout(() => kill(a.name, proc), 20 + rand() * 250);
      if (a.kill === "holding") watched.set(a.name, proc);
      const p = proc.done.then((d) => {
        clearTimeout(timer);
        watched.delete(a.name);
        if (killed.has(a.name)) return;
        if (a.kind === "R") {
          if (d.code === 0) stats.runsOk++;
          else failures.push(`run ${a.name} exited ${d.code}: ${d.stderr.slice(0, 400)}`);
          if (d.stderr.includes("waiting up to")) stats.runsWaited++;
        } else {
          stats.prunesOk += d.stdout.split("\n").filter((l) => l === "ok").length;
          stats.prunesDeferred += d.stdout.split("\n").filter((l) => l === "deferred").length;
          if (d.code !== 0) failures.push(`prune ${a.name} exited ${d.code}: ${d.stderr.slice(0, 400)}`);
        }
      });
      const tracked = p.finally(() => live.delete(tracked));
      live.add(tracked);
    }
    await Promise.all(live);
    clearInterval(watcher);
    const elapsed = Date.now() - t0;

    const lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
    const bad = overlaps(lines);
    stats.killedHolding = killedWhileHolding(lines);
    const ctx = `seed ${seed} (rerun with LEASE_RACE_SEED=${seed}); ${JSON.stringify(stats)}; ${elapsed} ms`;
    console.log(`lease race: ${ctx}`);
    expect(bad, ctx).toEqual([]);
    expect(failures, ctx).toEqual([]);
    // The schedule really interleaved: both sides got in, prunes were refused, runs had to wait,
    // and kills hit actors.
    expect(stats.runsOk, ctx).toBeGreaterThan(RUNS / 2);
    expect(stats.prunesOk, ctx).toBeGreaterThan(10);
    expect(stats.prunesDeferred, ctx).toBeGreaterThan(10);
    expect(stats.runsWaited, ctx).toBeGreaterThan(0);
    // (Half the designated runs: the watcher polls, a loaded machine may be slow to see one.)
    expect(stats.killedHolding, ctx).toBeGreaterThanOrEqual(Math.floor(RUNS / 24));
    // Nothing is left that blocks either side.
    const lock = await mustLock(rd);
    await lock.release();
    expect(await listLeases(rd)).toEqual([]);
  }, 300_000); // generous: its assertions are on log order, never on time; a loaded machine is slow
});
