// The prepull ledger under concurrent writers (separate processes, as concurrent prepulls are),
// and a damaged file being set aside and rebuilt.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readLedger, updateLedger } from "../../src/state/ledger.js";
import { bundleScript } from "../support/bundle.js";

const writerScript = () => bundleScript("test/support/ledger-writer.ts");

function runNode(args: string[]): Promise<number | null> {
  return new Promise((resolve) => spawn(process.execPath, args, { stdio: "inherit" }).on("close", resolve));
}

describe("ledger", () => {
  it("loses no update when many processes record prepulls at once", async () => {
    const script = await writerScript();
    const state = mkdtempSync(path.join(tmpdir(), "ikstate-"));
    const writers = 10;
    const times = 5;
    const codes = await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        runNode([script, state, `recipe${i}`, `img${i}:1`, String(times)]),
      ),
    );
    expect(codes.every((c) => c === 0)).toBe(true);
    const { ledger, problem } = readLedger(state);
    expect(problem).toBeUndefined();
    expect(Object.keys(ledger.needs).sort()).toEqual(
      Array.from({ length: writers }, (_, i) => `recipe${i}|deploy`).sort(),
    );
    for (let i = 0; i < writers; i++) expect(ledger.images[`sha256:img${i}:1`]!.uses).toHaveLength(times);
    // No update was lost: the shared image was used by every writer.
    expect(Object.keys(ledger.images["sha256:shared"]!.by)).toHaveLength(writers);
    // No lock or temp file is left behind.
    expect(readdirSync(state).sort()).toEqual(["ledger.json"]);
  });

  it("sets a damaged ledger aside, reports it, and starts a fresh one", async () => {
    const state = mkdtempSync(path.join(tmpdir(), "ikstate-"));
    writeFileSync(path.join(state, "ledger.json"), '{"version": 1, "recipes": {"x": ');
    expect(readLedger(state).problem).toMatch(/not valid JSON/);
    const r = await updateLedger(state, (l) => l);
    expect(r.problem).toMatch(/not valid JSON/);
    expect(readdirSync(state).some((n) => n.startsWith("ledger.json.damaged-"))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(state, "ledger.json"), "utf8"))).toEqual({
      version: 2,
      images: {},
      needs: {},
    });
    writeFileSync(path.join(state, "ledger.json"), '{"version": 3}');
    expect(readLedger(state).problem).toMatch(/ledger\.json does not match its schema/);
  });
});
