// The prune timer as `status` reads it: the unit name is the one the NixOS module installs, the
// `systemctl show` properties asked for, parseShow's edge cases (an empty LoadState, values with
// trailing blanks, a line that is not KEY=VALUE), and readTimer against a stand-in systemctl on a
// PATH of the test's own: found and asked the right thing, a failing one, none on PATH, and one
// that hangs (stopped after 5 s; the clock is faked, so the test does not wait for it).
// The module is imported inside each test (after vi.resetModules()): its constants are evaluated
// then, so a mutation test tool that tracks which test runs which code sees these tests cover them.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";

const load = async () => {
  vi.resetModules();
  return import("../../src/prune/timer.js");
};

const dirs: string[] = [];
const pids: number[] = [];
afterEach(() => {
  vi.useRealTimers();
  // A stand-in left running (only if readTimer failed to stop it): ours, stopped by its PID.
  for (const pid of pids.splice(0))
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * A directory holding an executable `systemctl` with this shell body; its PID goes to `pid`, then
 * its argv to `args`.
 */
function fakeSystemctl(body: string): { dir: string; args: string; pid: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "ik-systemctl-"));
  dirs.push(dir);
  const [args, pid] = [path.join(dir, "args"), path.join(dir, "pid")];
  writeFileSync(
    path.join(dir, "systemctl"),
    `#!/bin/sh\necho $$ > '${pid}'\necho "$@" > '${args}'\n${body}\n`,
    {
      mode: 0o755,
    },
  );
  return { dir, args, pid };
}

const LOADED =
  "LoadState=loaded\nActiveState=active\nLastTriggerUSec=Mon 2026-11-30 04:30:12 UTC\nNextElapseUSecRealtime=Tue 2026-12-01 04:30:00 UTC\n";

describe("the prune timer's name and query", () => {
  it("is the timer unit the NixOS module defines", async () => {
    const { PRUNE_TIMER } = await load();
    const nix = readFileSync(path.join(import.meta.dirname, "../../nix/module.nix"), "utf8");
    const unit = /systemd\.timers\.([\w-]+) =/.exec(nix)?.[1];
    expect(unit).toBeDefined();
    expect(PRUNE_TIMER).toBe(`${unit}.timer`);
  });

  it("asks systemctl show for the load state and the two timestamps", async () => {
    const { showArgs } = await load();
    expect(showArgs("x.timer")).toEqual([
      "show",
      "x.timer",
      "--no-pager",
      "-p",
      "LoadState,ActiveState,LastTriggerUSec,NextElapseUSecRealtime",
    ]);
  });
});

describe("parseShow", () => {
  it.each([
    // An empty load state (a manager that knows nothing of it): no timer.
    ["LoadState=\nActiveState=\nLastTriggerUSec=Mon 2026-11-30 04:30:12 UTC\n", null],
    // Values are trimmed: a blank-only timestamp is unset.
    [
      "LoadState=loaded \nLastTriggerUSec=Mon 2026-11-30 04:30:12 UTC \nNextElapseUSecRealtime=  \n",
      { lastRun: "Mon 2026-11-30 04:30:12 UTC", nextRun: null },
    ],
    // A line that is not KEY=VALUE sets nothing (not even the key that is its first characters).
    ["LoadState=loaded\nLastTriggerUSecs\n", { lastRun: null, nextRun: null }],
  ])("%j", async (out, want) => {
    const { parseShow } = await load();
    expect(parseShow("t.timer", out)).toEqual(want === null ? null : { unit: "t.timer", ...want });
  });
});

describe("readTimer", () => {
  it("runs the systemctl on the given PATH for the prune timer, and parses its answer", async () => {
    const { readTimer } = await load();
    const s = fakeSystemctl(`printf '${LOADED}'`);
    expect(await readTimer(undefined, { PATH: `/nonexistent:${s.dir}` })).toEqual({
      unit: "imagekeeper-prune.timer",
      lastRun: "Mon 2026-11-30 04:30:12 UTC",
      nextRun: "Tue 2026-12-01 04:30:00 UTC",
    });
    expect(readFileSync(s.args, "utf8")).toBe(
      "show imagekeeper-prune.timer --no-pager -p LoadState,ActiveState,LastTriggerUSec,NextElapseUSecRealtime\n",
    );
  });

  it("a systemctl that fails (no manager to talk to) is no timer, whatever it printed", async () => {
    const { readTimer } = await load();
    const s = fakeSystemctl(`printf '${LOADED}'; exit 1`);
    expect(await readTimer("t.timer", { PATH: s.dir })).toBeNull();
  });

  it("no systemctl on PATH, or no PATH at all: no timer", async () => {
    const { readTimer } = await load();
    const empty = mkdtempSync(path.join(tmpdir(), "ik-nosystemctl-"));
    dirs.push(empty);
    expect(await readTimer("t.timer", { PATH: empty })).toBeNull();
    expect(await readTimer("t.timer", {})).toBeNull();
  });

  it("a systemctl that hangs is stopped after 5 s: no timer", async () => {
    const { readTimer } = await load();
    const s = fakeSystemctl("exec sleep 60");
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const r = readTimer("t.timer", { PATH: s.dir });
    // Wait (on real I/O, not on timers) until it runs.
    while (!existsSync(s.args)) await new Promise((ok) => setImmediate(ok));
    pids.push(Number(readFileSync(s.pid, "utf8")));
    let settled = false;
    void r.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(4999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await r).toBeNull();
  });
});
