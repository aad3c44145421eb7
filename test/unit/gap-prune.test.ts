// The gap prune before a run never fails the run: whatever goes wrong is logged and reported as a
// result, never thrown (so `run` and `lease acquire` keep their exit codes: help-exit-codes.test.ts).
// No daemon here: the failures are the ones that happen before one is reached.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { gapPrune, gapPruneBeforePull } from "../../src/prune/gap-prune.js";

const dir = mkdtempSync(path.join(tmpdir(), "ikgap-"));
const config = (prune: Record<string, unknown> = {}) =>
  configSchema.parse({ stateDir: path.join(dir, "state"), runDir: path.join(dir, "run"), prune });
const req = { what: "imagekeeper run", before: "the run starts", incomingBytes: 0, reserved: [] };

describe("gapPrune", () => {
  it("does nothing when prune.beforeRuns is off", async () => {
    const r = await gapPrune({ config: config({ beforeRuns: false }), env: { DOCKER_HOST: "ssh://x" } }, req);
    expect(r).toEqual({ kind: "not-needed", reason: "prune.beforeRuns is off" });
  });

  it.each([
    ["an unsupported DOCKER_HOST", "ssh://ci@host", /DOCKER_HOST=ssh:\/\/ci@host is not supported/],
    ["no daemon on the socket", `unix://${dir}/none.sock`, /cannot reach the Docker daemon/],
  ])("%s: a failed check, not an error", async (_n, host, msg) => {
    const r = await gapPrune({ config: config(), env: { DOCKER_HOST: host } }, req);
    expect(r.kind).toBe("failed");
    if (r.kind === "failed") expect(r.reason).toMatch(msg);
  });

  it("a lease id in the environment that is not held is no reason to skip", async () => {
    const r = await gapPrune(
      {
        config: config(),
        env: { DOCKER_HOST: `unix://${dir}/none.sock`, IMAGEKEEPER_LEASE: "run-000000000000" },
      },
      req,
    );
    expect(r.kind).toBe("failed");
  });

  it("a prepull with nothing to pull asks nothing", async () => {
    const r = await gapPruneBeforePull({ config: config(), env: { DOCKER_HOST: "ssh://x" } }, [
      { ref: "a:1", action: "skip", presentId: "sha256:a" },
    ]);
    expect(r).toEqual({ kind: "not-needed", reason: "nothing to pull" });
    const p = await gapPruneBeforePull({ config: config(), env: { DOCKER_HOST: "ssh://x" } }, [
      { ref: "a:1", action: "skip", presentId: "sha256:a" },
      { ref: "b:1", action: "pull", presentId: undefined },
    ]);
    expect(p.kind).toBe("failed");
  });
});
