// The app .env is data, never Node's: Node 20 takes `--env-file` anywhere in its argv as its own
// option unless a `--` ends its options (nodejs/node#54232). Each launcher starts the real bundle
// the way it ships: the bundle executed through its shebang, `node -- BIN` (the test harness, the
// demo), and the Nix wrapper's two exec lines as nix/package.nix writes them: the bundle, and the
// start from the V8 startup snapshot (built here as the package builds it). An app .env sets
// NODE_OPTIONS=--require EVIL, where EVIL would leave a marker file: it must never run, and the
// variable must come out as data. A missing --env-file must be imagekeeper's exit 2 (with a JSON
// error document under --json), not Node's exit 9. No daemon is needed.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bin, type CliResult, runProgram } from "../support/cli.js";
import { buildSnapshot } from "../support/snapshot.js";
import { tempDir } from "../support/testbed.js";

const FIX = path.resolve("test/fixtures/recipes/simple");

let dir: string;
let marker: string;
let evilEnv: string;
let wrapper: string;

function run(file: string, args: string[]): Promise<CliResult> {
  return runProgram(file, args, {
    env: {
      ...process.env,
      IMAGEKEEPER_STATE_DIR: path.join(dir, "state"),
      IMAGEKEEPER_CONFIG: path.join(dir, "config.json"),
      NODE_OPTIONS: undefined,
    },
  });
}

/** The Nix wrapper's exec line, with the flags exactly as nix/package.nix hands them to makeWrapper. */
function nixWrapper(out: string): string {
  const nix = readFileSync("nix/package.nix", "utf8");
  const m = /makeWrapper \$\{lib\.getExe nodejs\} \$out\/bin\/imagekeeper \\\s*--add-flags "([^"]+)"/.exec(
    nix,
  );
  if (!m) throw new Error("no makeWrapper line with quoted --add-flags in nix/package.nix");
  const flags = m[1]!.replaceAll("$out", out);
  // makeWrapper writes a bash script ending in: exec -a "$0" NODE FLAGS "$@"
  return `#!/bin/bash -e\nexec -a "$0" "${process.execPath}" ${flags} "$@"\n`;
}

/**
 * The Nix wrapper's start from the startup snapshot (its `--run` line, taken when the blob fits),
 * with node and $out as the package has them.
 */
function nixSnapshotWrapper(out: string): string {
  const nix = readFileSync("nix/package.nix", "utf8");
  const m = /then exec -a "\$0" \$\{lib\.getExe nodejs\} (--snapshot-blob [^"]+) "\$@"; fi/.exec(nix);
  if (!m) throw new Error("no one-line snapshot exec in nix/package.nix's startFromSnapshot");
  const flags = m[1]!.replaceAll("@out@", out);
  return `#!/bin/bash -e\nexec -a "$0" "${process.execPath}" ${flags} "$@"\n`;
}

let snapshotWrapper: string;

const launchers: [string, (args: string[]) => Promise<CliResult>][] = [
  ["the bundle run through its shebang", (args) => run(bin(), args)],
  ["node -- BIN", (args) => run(process.execPath, ["--", bin(), ...args])],
  ["the Nix wrapper", (args) => run(wrapper, args)],
  ["the Nix wrapper's start from the startup snapshot", (args) => run(snapshotWrapper, args)],
];

beforeAll(() => {
  dir = tempDir("iklaunch");
  writeFileSync(path.join(dir, "config.json"), "{}\n");
  marker = path.join(dir, "EVIL-RAN");
  const evil = path.join(dir, "evil.cjs");
  writeFileSync(evil, `require("node:fs").writeFileSync(${JSON.stringify(marker)}, String(process.pid));\n`);
  evilEnv = path.join(dir, "app.env");
  writeFileSync(
    evilEnv,
    `${readFileSync(path.join(FIX, "app.env"), "utf8")}NODE_OPTIONS=--require ${evil}\n`,
  );
  const out = path.join(dir, "out");
  mkdirSync(path.join(out, "libexec/imagekeeper"), { recursive: true });
  mkdirSync(path.join(out, "bin"));
  copyFileSync(bin(), path.join(out, "libexec/imagekeeper/imagekeeper.mjs"));
  wrapper = path.join(out, "bin/imagekeeper");
  writeFileSync(wrapper, nixWrapper(out));
  chmodSync(wrapper, 0o755);
  buildSnapshot(
    path.join(out, "libexec/imagekeeper/imagekeeper.mjs"),
    path.join(out, "libexec/imagekeeper/imagekeeper.blob"),
  );
  snapshotWrapper = path.join(out, "bin/imagekeeper-snapshot");
  writeFileSync(snapshotWrapper, nixSnapshotWrapper(out));
  chmodSync(snapshotWrapper, 0o755);
});

describe("the launchers keep Node's hands off --env-file", () => {
  it("the bundle is executable and its shebang ends Node's options", () => {
    expect(statSync(bin()).mode & 0o111).not.toBe(0);
    expect(readFileSync(bin(), "utf8").split("\n")[0]).toBe("#!/usr/bin/env -S node --");
    expect(readFileSync(wrapper, "utf8")).toContain(
      ` -- ${dir}/out/libexec/imagekeeper/imagekeeper.mjs "$@"`,
    );
    expect(readFileSync(snapshotWrapper, "utf8")).toContain(
      ` --snapshot-blob ${dir}/out/libexec/imagekeeper/imagekeeper.blob -- ${dir}/out/libexec/imagekeeper/imagekeeper.mjs "$@"`,
    );
  });

  describe.each(launchers)("%s", (_name, launch) => {
    it("reads NODE_OPTIONS in an app .env as data and never runs it", async () => {
      rmSync(marker, { force: true });
      const env = await launch(["env", "--env-file", evilEnv]);
      expect(env.stderr).toBe("");
      expect(env.code).toBe(0);
      expect(env.stdout).toContain(`NODE_OPTIONS=--require ${path.join(dir, "evil.cjs")}\n`);
      const images = await launch(["images", "--recipe", FIX, "--env-file", evilEnv, "--json"]);
      expect(images.code, images.stderr).toBe(0);
      expect(JSON.parse(images.stdout).images.map((i: { ref: string }) => i.ref)).toContain("nginx:1.27.1");
      // The = form is ours too.
      const eq = await launch(["env", `--env-file=${evilEnv}`, "--json"]);
      expect(eq.code, eq.stderr).toBe(0);
      expect(existsSync(marker)).toBe(false);
    });

    it("a missing --env-file is imagekeeper's bad input: exit 2, a JSON error under --json", async () => {
      const missing = path.join(dir, "no-such.env");
      const r = await launch(["env", "--env-file", missing, "--json"]);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { kind: "env", file: missing } });
      expect(r.stderr).not.toContain("node:");
      const p = await launch(["prepull", "--recipe", FIX, "--env-file", missing, "--json"]);
      expect(p.code).toBe(2);
      expect(JSON.parse(p.stdout)).toMatchObject({ ok: false, error: { kind: "env" } });
    });
  });

  it("without --, Node reads the file (the hole this closes); imagekeeper then refuses with exit 2", async () => {
    // The control: the same .env through `node BIN` does run EVIL, so the assertions above can fail.
    rmSync(marker, { force: true });
    const r = await run(process.execPath, [bin(), "env", "--env-file", evilEnv, "--json"]);
    expect(existsSync(marker)).toBe(true);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      error: { kind: string; message: string; hint: string };
    };
    expect(doc).toMatchObject({ ok: false, error: { kind: "usage" } });
    expect(doc.error.message).toContain("nodejs/node#54232");
    expect(doc.error.hint).toContain(`node -- ${bin()}`);
    // Nothing of imagekeeper's ran: no env printed.
    expect(r.stdout).not.toContain("NODE_OPTIONS=");
    // A missing file: Node itself exits before any imagekeeper code runs. Only `--` prevents it.
    const missing = await run(process.execPath, [bin(), "env", "--env-file", path.join(dir, "nope")]);
    expect(missing.code).toBe(9);
  });

  it("started from the snapshot without --: the check runs in the restored process and refuses", async () => {
    // The check reads /proc/self/cmdline at each start, so a snapshot cannot have frozen its answer
    // from the build (whose command line had no --env-file).
    const plainEnv = path.join(dir, "plain.env");
    writeFileSync(plainEnv, "FOO=1\n");
    const blob = path.join(dir, "out/libexec/imagekeeper/imagekeeper.blob");
    const r = await run(process.execPath, [
      "--snapshot-blob",
      blob,
      bin(),
      "env",
      "--env-file",
      plainEnv,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { kind: "usage" } });
    expect(r.stdout).not.toContain("FOO=1");
    // The control: with -- the same start prints the file's variable.
    const ok = await run(process.execPath, [
      "--snapshot-blob",
      blob,
      "--",
      bin(),
      "env",
      "--env-file",
      plainEnv,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("FOO=1\n");
  });
});
