// An app env too large for a process environment is bad input (exit 2, naming the variable, the
// file and the limit), found before anything is spawned: `docker stack config` gets the app env as
// its environment, and execve(2) refuses past MAX_ARG_STRLEN per string and past a quarter of the
// stack limit altogether (src/recipe/envLimits.ts). The boundaries are the kernel's own: checked
// here against real execve(2) calls of the real docker client. No daemon is needed.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { which } from "../../src/util/which.js";
import { cli } from "../support/cli.js";
import { DOCKER_CLI, tempDir } from "../support/testbed.js";

const MAX_ARG_STRLEN = 131_072;
let dir: string;
let recipe: string;
let spawned: string;
let dockerSpy: string;
let dockerPath: string;

const ARGS = ["stack", "config", "--compose-file", "compose.yml"];

function envFile(name: string, vars: Record<string, string>): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  return file;
}

const images = (file: string, docker = dockerSpy) =>
  cli(["images", "--recipe", recipe, "--env-file", file, "--json"], {
    IMAGEKEEPER_DOCKER: docker,
    IMAGEKEEPER_STATE_DIR: path.join(dir, "state"),
    IMAGEKEEPER_CONFIG: path.join(dir, "config.json"),
  });

beforeAll(() => {
  dir = tempDir("ikenvlim");
  writeFileSync(path.join(dir, "config.json"), "{}\n");
  recipe = path.join(dir, "recipe");
  mkdirSync(recipe);
  writeFileSync(
    path.join(recipe, "compose.yml"),
    'version: "3.8"\nservices:\n  app:\n    image: nginx:1.27.1\n',
  );
  dockerPath = which(DOCKER_CLI)!;
  expect(dockerPath).toBeDefined();
  // A docker client that notes being started, to prove that nothing is spawned on bad input.
  spawned = path.join(dir, "docker-was-started");
  dockerSpy = path.join(dir, "docker");
  writeFileSync(dockerSpy, `#!/bin/sh\n: > "${spawned}"\nexec "${dockerPath}" "$@"\n`);
  chmodSync(dockerSpy, 0o755);
});

describe("one variable too long", () => {
  it("a 1 MB value is exit 2 naming it, the file and the limit; docker is never started", async () => {
    rmSync(spawned, { force: true });
    const file = envFile("big.env", { DOMAIN: "a.example", CERT: "x".repeat(1_000_000) });
    const r = await images(file);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as {
      error: { kind: string; message: string; file: string; hint: string };
    };
    expect(doc.error.kind).toBe("env");
    expect(doc.error.file).toBe(file);
    expect(doc.error.message).toContain(`CERT in ${file}`);
    expect(doc.error.message).toContain("1000000 bytes");
    expect(doc.error.message).toContain(String(MAX_ARG_STRLEN));
    expect(r.stderr).not.toContain("E2BIG");
    expect(existsSync(spawned)).toBe(false);
  });

  it("the exact boundary: NAME=value of 131072 bytes with its NUL is handed to docker; one more is not", async () => {
    const longest = MAX_ARG_STRLEN - "BIG=".length - 1;
    rmSync(spawned, { force: true });
    const ok = await images(envFile("edge.env", { BIG: "x".repeat(longest) }));
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(spawned)).toBe(true); // docker ran: the kernel took it
    expect(JSON.parse(ok.stdout).images.map((i: { ref: string }) => i.ref)).toEqual(["nginx:1.27.1"]);
    rmSync(spawned, { force: true });
    const over = await images(envFile("over.env", { BIG: "x".repeat(longest + 1) }));
    expect(over.code).toBe(2);
    expect(JSON.parse(over.stdout).error.message).toContain("BIG in");
    expect(existsSync(spawned)).toBe(false);
    // And the kernel agrees: the same string one byte longer is E2BIG for execve(2) itself.
    const direct = (len: number) =>
      spawnSync(dockerPath, ["--version"], { env: { BIG: "x".repeat(len) }, encoding: "utf8" });
    expect(direct(longest).error).toBeUndefined();
    expect((direct(longest + 1).error as NodeJS.ErrnoException | undefined)?.code).toBe("E2BIG");
  });
});

describe("all variables together too large", () => {
  // The room execve(2) gives argv and environment strings: a quarter of the stack limit, capped at
  // 6 MiB, never under 128 KiB, less a pointer per string. Variables filling it exactly, given the
  // docker path and the argv imagekeeper uses (imagekeeper's own children inherit our stack limit).
  function fill(total: number): Record<string, string> {
    const strings = [dockerPath, dockerPath, ...ARGS];
    // 100 000-byte pieces and a last one that takes the rest (each well under MAX_ARG_STRLEN).
    const pieces = Math.floor((total - 4096) / 100_012) + 1;
    let used = strings.reduce((n, s) => n + Buffer.byteLength(s) + 1, 0) + (strings.length - 1 + pieces) * 8;
    const vars: Record<string, string> = {};
    for (let i = 0; i < pieces; i++) {
      const name = `V${String(i).padStart(2, "0")}`;
      const len = i < pieces - 1 ? 100_000 : total - used - name.length - 2;
      vars[name] = "y".repeat(len);
      used += name.length + 2 + len;
    }
    return vars;
  }
  const stackLimit = () => {
    const r = spawnSync("sh", ["-c", "ulimit -s"], { encoding: "utf8" }).stdout.trim();
    return r === "unlimited" ? Number.POSITIVE_INFINITY : Number(r) * 1024;
  };

  it("exactly the kernel's room is handed to docker; one byte more is exit 2 naming the largest", async () => {
    const room = Math.max(Math.min(6 * 1024 * 1024, Math.floor(stackLimit() / 4)), 131_072);
    const exact = fill(room);
    // The kernel's word first: exactly the room passes execve(2), a byte more does not.
    const direct = (vars: Record<string, string>) =>
      spawnSync(dockerPath, ARGS, {
        env: vars,
        cwd: recipe,
        encoding: "utf8",
        maxBuffer: 1 << 24,
      });
    expect(direct(exact).error).toBeUndefined();
    const last = Object.keys(exact).at(-1)!;
    const over = { ...exact, [last]: `${exact[last]}y` };
    expect((direct(over).error as NodeJS.ErrnoException | undefined)?.code).toBe("E2BIG");
    // imagekeeper draws the line at the same byte (docker run directly: a wrapper script would
    // change the strings the kernel counts).
    const ok = await images(envFile("room.env", exact), DOCKER_CLI);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await images(envFile("room-over.env", over), DOCKER_CLI);
    expect(bad.code).toBe(2);
    const msg = JSON.parse(bad.stdout).error.message as string;
    expect(msg).toContain("too large");
    expect(msg).toMatch(/largest: V\d\d \(100000 bytes/);
    expect(bad.stderr).not.toContain("E2BIG");
  });
});
