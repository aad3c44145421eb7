// A member of the run dir's group forges lease records, as an attacker would: a record naming a
// process it wants killed (pid, start time and boot id are world-readable in /proc), expired, and
// held with a real flock so that it counts as live; the lease lock held shared so that prunes
// defer and list leases. Then root runs the real CLI against a real engine: status, prune, lease
// release, lease acquire of the same id (renewal). Nothing may be signalled but a process proven to
// be the record's holder (src/lease/proof.ts): the victims trap SIGTERM and write a marker, and
// must stay alive and unsignalled. Root only (users, flock as another user).
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listLeases } from "../../src/lease/lease.js";
import { identify, readProcStat } from "../../src/lease/proc.js";
import { bin, cli } from "../support/cli.js";
import { type Daemon, startDaemon, tempDir } from "../support/testbed.js";
import { asUserArgv, makeUsers, runAs, type TestUser, type TestUsers } from "../support/users.js";

const isRoot = process.getuid?.() === 0;

let d: Daemon;
let users: TestUsers;
let forger: TestUser;
let other: TestUser;
let root: string;
let rd: string;
let env: Record<string, string>;
const started: ChildProcess[] = [];

const alive = (pid: number) => {
  const st = readProcStat(pid);
  return st !== undefined && st.state !== "Z";
};

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** SIGKILL a spawned chain's process group (gone already is fine). */
function killGroup(c: ChildProcess): void {
  try {
    if (c.pid) process.kill(-c.pid, "SIGKILL");
  } catch {
    // gone
  }
}

function spawnAs(user: TestUser | undefined, argv: string[]): ChildProcess {
  const full = user ? asUserArgv(user, argv) : argv;
  const child = spawn(full[0]!, full.slice(1), { stdio: "ignore", detached: true });
  started.push(child);
  return child;
}

interface Victim {
  pid: number;
  marker: string;
  /** Alive and never sent SIGTERM/SIGHUP/SIGINT (it would have written its marker). */
  untouched(): boolean;
}

let victims = 0;
/** A process that notes any catchable signal it gets and goes on living. */
async function victim(user: TestUser | undefined): Promise<Victim> {
  const marker = path.join(root, `victim-${++victims}.signals`);
  writeFileSync(marker, "");
  chmodSync(marker, 0o666);
  const script = `trap 'echo TERM >> "$0"' TERM; trap 'echo HUP >> "$0"' HUP; trap 'echo INT >> "$0"' INT; while :; do sleep 0.2; done`;
  const child = spawnAs(user, ["sh", "-c", script, marker]);
  const pid = child.pid!;
  await until("the victim", () => readProcStat(pid)?.comm === "sh" && identify(pid) !== undefined);
  // setpriv and the umask shell exec into it: the pid is the victim's from the start.
  await new Promise((r) => setTimeout(r, 100));
  return { pid, marker, untouched: () => alive(pid) && readFileSync(marker, "utf8") === "" };
}

const lockPath = () => path.join(rd, "lease.lock");

/** The forger writes lease.<id>.json naming `pid`, expired an hour ago, then holds it. */
async function forge(id: string, pid: number, opts: { holdLock: boolean }): Promise<ChildProcess> {
  const me = identify(pid);
  if (!me) throw new Error(`no process ${pid}`);
  const rec = {
    v: 1,
    id,
    kind: "acquired",
    ...me,
    command: "ci job",
    since: new Date(Date.now() - 7_200_000).toISOString(),
    expiresAt: new Date(Date.now() - 3_600_000).toISOString(),
  };
  const file = path.join(rd, `lease.${id}.json`);
  const w = await runAs(forger, ["sh", "-c", 'printf %s "$1" > "$2"', "sh", JSON.stringify(rec), file]);
  expect(w.code, w.stderr).toBe(0);
  // flock(1) keeps each file open (and locked) while its command runs.
  const hold = opts.holdLock
    ? ["flock", "--shared", lockPath(), "flock", "--exclusive", file, "sleep", "600"]
    : ["flock", "--exclusive", file, "sleep", "600"];
  const holder = spawnAs(forger, hold);
  // Not listed before it is held: a listing removes unheld records (as root it may).
  await until("the forger's flock", () => readProcStat(leafOf(holder.pid!))?.comm === "sleep");
  await until(`the forged record ${id} to count`, async () =>
    (await listLeases(rd)).some((l) => l.id === id && l.pid === pid),
  );
  return holder;
}

/** The innermost process of a holder chain (setpriv → sh → flock → [flock →] sleep). */
function leafOf(pid: number): number {
  for (;;) {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    if (!kids.length) return pid;
    pid = Number(kids[0]);
  }
}

describe.skipIf(!isRoot)("forged lease records make root signal nothing", () => {
  beforeAll(async () => {
    d = await startDaemon();
    users = makeUsers("ikf", 2);
    [forger, other] = users.users as [TestUser, TestUser];
    root = tempDir("ikforge");
    chmodSync(root, 0o755);
    // As docs/leases.md recommends (systemd-tmpfiles): root-owned, the group, setgid and sticky,
    // and the lock file made by root too.
    rd = path.join(root, "run");
    mkdirSync(rd);
    chownSync(rd, 0, users.group.gid);
    chmodSync(rd, 0o3770);
    writeFileSync(lockPath(), "");
    chownSync(lockPath(), 0, users.group.gid);
    chmodSync(lockPath(), 0o440);
    const config = path.join(root, "config.json");
    // Pressure on any real disk (critical at 3%): the prune goes as far as the lock and the leases.
    writeFileSync(
      config,
      JSON.stringify({
        runDir: rd,
        stateDir: path.join(root, "state"),
        prune: { highWatermarkPercent: 2, lowWatermarkPercent: 1, criticalWatermarkPercent: 3, minAge: "0s" },
      }),
    );
    env = { ...d.env, IMAGEKEEPER_CONFIG: config };
  });

  afterAll(async () => {
    for (const c of started) killGroup(c);
    users?.remove();
    await d?.stop();
  });

  it("status and prune list a forged expired lease naming root's process, and signal nothing", async () => {
    const v = await victim(undefined);
    const holder = await forge("evil", v.pid, { holdLock: true });
    const status = await cli(["status", "--json"], env);
    expect(status.code, status.stderr).toBe(0);
    const leases = (JSON.parse(status.stdout) as { leases: { id: string; pid: number }[] }).leases;
    expect(leases).toContainEqual(expect.objectContaining({ id: "evil", pid: v.pid }));
    const prune = await cli(["prune", "--json"], env);
    expect(prune.code, prune.stderr).toBe(0);
    expect(JSON.parse(prune.stdout)).toMatchObject({ outcome: "deferred" });
    await new Promise((r) => setTimeout(r, 300)); // a signal, had one been sent, has arrived
    expect(v.untouched()).toBe(true);
    killGroup(holder);
  });

  it("lease release by root refuses a record naming another user's process", async () => {
    for (const [what, user] of [
      ["root", undefined],
      ["another member", other],
    ] as const) {
      const v = await victim(user);
      const holder = await forge(`evil-${what.replace(" ", "-")}`, v.pid, { holdLock: false });
      const rel = await cli(["lease", "release", `evil-${what.replace(" ", "-")}`], env);
      expect(rel.code, `${what}: ${rel.stderr}`).toBe(70);
      expect(rel.stderr).toContain(`not signalling pid ${v.pid}: pid ${v.pid} runs as uid`);
      expect(rel.stderr).toContain(`the record belongs to uid ${forger.uid}`);
      await new Promise((r) => setTimeout(r, 300));
      expect(v.untouched(), what).toBe(true);
      killGroup(holder);
    }
  });

  it("renewing a forged id as root replaces the record and signals nothing", async () => {
    const v = await victim(undefined);
    const holder = await forge("evil-renew", v.pid, { holdLock: false });
    const acq = await cli(["lease", "acquire", "--id", "evil-renew", "--ttl", "1m"], env);
    expect(acq.code, acq.stderr).toBe(0);
    expect(acq.stderr).toContain("the previous holder could not be stopped");
    const [mine] = (await listLeases(rd)).filter((l) => l.id === "evil-renew");
    expect(mine?.pid).not.toBe(v.pid);
    // Root's own lease, released by root: its holder proves itself and is stopped.
    const rel = await cli(["lease", "release", "evil-renew"], env);
    expect(rel.code, rel.stderr).toBe(0);
    expect(alive(mine!.pid)).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(v.untouched()).toBe(true);
    killGroup(holder);
  });

  it("a record naming a process of the forger's that does not hold it is refused too", async () => {
    const v = await victim(forger);
    const holder = await forge("evil-own", v.pid, { holdLock: true });
    const rel = await cli(["lease", "release", "evil-own"], env);
    expect(rel.code, rel.stderr).toBe(70);
    expect(rel.stderr).toContain("does not hold the lease record open");
    expect(v.untouched()).toBe(true);
    killGroup(holder);
  });

  it("the one process root may stop is the forger's own holder: what the forger could stop itself", async () => {
    // A process of the forger's that holds both the record and the lease lock, named by the
    // forger's record: a real holder. Stopping it grants the forger nothing it could not do alone.
    const id = "own-holder";
    const file = path.join(rd, `lease.${id}.json`);
    expect((await runAs(forger, ["sh", "-c", ': > "$1"', "sh", file])).code).toBe(0);
    const chain = spawnAs(forger, [
      "flock",
      "--shared",
      lockPath(),
      "flock",
      "--exclusive",
      file,
      "sleep",
      "600",
    ]);
    await until("the chain", () => readProcStat(leafOf(chain.pid!))?.comm === "sleep");
    const sleeper = identify(leafOf(chain.pid!))!;
    const rec = {
      v: 1,
      id,
      kind: "acquired",
      ...sleeper,
      command: "x",
      since: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    };
    // Rewritten in place: the inode the chain holds stays the record.
    const w = await runAs(forger, ["sh", "-c", 'printf %s "$1" > "$2"', "sh", JSON.stringify(rec), file]);
    expect(w.code, w.stderr).toBe(0);
    const rel = await cli(["lease", "release", id], env);
    expect(rel.code, rel.stderr).toBe(0);
    expect(alive(sleeper.pid)).toBe(false);
    killGroup(chain);
  });

  it("a holder hidden from the caller's /proc is never signalled (ProtectProc=invisible)", async () => {
    const acq = await cli(["lease", "acquire", "--id", "hidden", "--ttl", "1m"], env);
    expect(acq.code, acq.stderr).toBe(0);
    const [lease] = (await listLeases(rd)).filter((l) => l.id === "hidden");
    // A new pid namespace with its own /proc shows none of this host's processes.
    const inNs = spawn(
      "unshare",
      ["--pid", "--fork", "--mount-proc", process.execPath, "--", bin(), "lease", "release", "hidden"],
      { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let err = "";
    inNs.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const code = await new Promise((r) => inNs.on("close", r));
    expect(code, err).toBe(70);
    expect(err).toContain("not visible in /proc");
    expect(alive(lease!.pid)).toBe(true);
    expect((await cli(["lease", "release", "hidden"], env)).code).toBe(0);
    expect(existsSync(path.join(rd, "lease.hidden.json"))).toBe(false);
  });
});
