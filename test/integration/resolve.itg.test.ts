// Resolution end to end through the real CLI and the real `docker stack config`: the exact image
// list of a multi-file recipe, bad input exits 2 naming the file, and --ref reads other versions
// without touching the checkout. No daemon is needed for resolution. The fixture recipes are plain
// directories inside this repository, not tagged recipe repositories: their app .env pins a
// version (as abra app new writes it), so they are resolved with --chaos, the files as they are.
// test/integration/recipe-version.itg.test.ts covers versions in a real recipe repository.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";

const FIX = path.resolve("test/fixtures/recipes");
const state = () => ({ IMAGEKEEPER_STATE_DIR: mkdtempSync(path.join(tmpdir(), "ikstate-")) });

describe("images", () => {
  it("resolves a multi-file recipe with accumulated COMPOSE_FILE, defaults and another registry", async () => {
    const r = await cli(
      ["images", "--recipe", `${FIX}/multi`, "--env-file", `${FIX}/multi/app.env`, "--chaos"],
      state(),
    );
    expect(r.stderr).toMatch(/recipe multi: the working tree as it is \(--chaos\)/);
    expect(r.stderr).not.toMatch(/^\d\d:\d\d:\d\d (warn|error) /m);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "mcuadros/ofelia:v0.3.13",
      "nginx:1.25.3",
      "nginx:1.27.1-alpine",
      "postgres:15",
      "registry.coopcloud.example:5000/coop-cloud/smtp:2.1.0",
    ]);
  });

  it("says which service and file each image came from (--json)", async () => {
    const r = await cli(
      ["images", "--recipe", `${FIX}/multi`, "--env-file", `${FIX}/multi/app.env`, "--chaos", "--json"],
      state(),
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.recipe).toBe("multi");
    expect(doc.files).toEqual(["compose.yml", "compose.smtp.yml", "compose.pinned.yml"]);
    const by = Object.fromEntries(
      doc.images.map((i: { ref: string; service: string; file: string }) => [
        i.ref,
        `${i.service}@${i.file}`,
      ]),
    );
    expect(by).toEqual({
      "mcuadros/ofelia:v0.3.13": "cron@compose.pinned.yml",
      "nginx:1.25.3": "worker@compose.yml",
      "nginx:1.27.1-alpine": "app@compose.pinned.yml",
      "postgres:15": "db@compose.yml",
      "registry.coopcloud.example:5000/coop-cloud/smtp:2.1.0": "smtp@compose.smtp.yml",
    });
  });

  it("--set overrides the app env", async () => {
    const r = await cli(
      [
        "images",
        "--recipe",
        `${FIX}/multi`,
        "--env-file",
        `${FIX}/multi/app.env`,
        "--chaos",
        "--set",
        "NGINX_VERSION=1.26.0",
        "--set",
        "PG_VERSION=16.4",
      ],
      state(),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("nginx:1.26.0\n");
    expect(r.stdout).toContain("postgres:16.4\n");
  });

  it("the fixture's pin is not a tag of the repository around it: bad input unless --chaos", async () => {
    const r = await cli(
      ["images", "--recipe", `${FIX}/multi`, "--env-file", `${FIX}/multi/app.env`],
      state(),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /TYPE in .*multi\/app\.env line 2 pins multi:1\.0\.0\+1\.27, but 1\.0\.0\+1\.27 is not a tag/,
    );
  });

  it("a plain directory without a pin resolves quietly: it has no versions", async () => {
    const r = await cli(
      ["images", "--recipe", `${FIX}/simple`, "--env-file", `${FIX}/simple/app.env`],
      state(),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("nginx:1.27.1\npostgres:16.4\n");
  });

  it("does not let the process environment leak into interpolation", async () => {
    const r = await cli(["images", "--recipe", `${FIX}/simple`], { ...state(), NGINX_VERSION: "9.9.9" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("nginx:1.25\npostgres:16.4\n");
  });

  it("exits 2 naming the variable and the file when a required variable is unset", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ikrecipe-"));
    writeFileSync(
      path.join(dir, "compose.yml"),
      'version: "3.8"\nservices:\n  app:\n    image: nginx:${NGINX_VERSION:?set NGINX_VERSION in .env}\n',
    );
    writeFileSync(path.join(dir, "app.env"), "DOMAIN=x.example.org\n");
    const r = await cli(["images", "--recipe", dir, "--env-file", path.join(dir, "app.env")], state());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required variable NGINX_VERSION is missing a value/);
    expect(r.stderr).toContain("compose.yml");
    expect(r.stderr).toMatch(/fix: Set NGINX_VERSION in the app \.env/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("exits 2 for an image that interpolates to a bad reference", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ikrecipe-"));
    writeFileSync(
      path.join(dir, "compose.yml"),
      'version: "3.8"\nservices:\n  app:\n    image: nginx:${NGINX_VERSION}\n',
    );
    const r = await cli(["images", "--recipe", dir], state());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/service "app" in compose.yml resolves to a bad image reference/);
    expect(r.stderr).toMatch(/Set NGINX_VERSION/);
  });

  it("exits 2 for broken YAML, naming the file", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ikrecipe-"));
    writeFileSync(path.join(dir, "compose.yml"), 'version: "3.8"\nservices:\n  app:\n    image: nginx:1\n');
    writeFileSync(path.join(dir, "compose.x.yml"), 'version: "3.8"\nservices:\n  app:\n    image: [oops\n');
    writeFileSync(path.join(dir, "app.env"), "COMPOSE_FILE=compose.yml:compose.x.yml\n");
    const r = await cli(["images", "--recipe", dir, "--env-file", path.join(dir, "app.env")], state());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/compose\.x\.yml is not valid YAML/);
  });

  it("exits 2 when COMPOSE_FILE names a missing file", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ikrecipe-"));
    writeFileSync(path.join(dir, "compose.yml"), 'version: "3.8"\nservices:\n  app:\n    image: nginx:1\n');
    writeFileSync(path.join(dir, "app.env"), 'COMPOSE_FILE="compose.yml:compose.nope.yml"\n');
    const r = await cli(["images", "--recipe", dir, "--env-file", path.join(dir, "app.env")], state());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/compose\.nope\.yml.*does not exist/);
    expect(r.stderr).toContain(path.join(dir, "app.env"));
  });

  it("answers from the resolution cache when nothing changed, and not when a file did", async () => {
    const st = state();
    const dir = mkdtempSync(path.join(tmpdir(), "ikrecipe-"));
    cpSync(`${FIX}/simple`, dir, { recursive: true });
    const first = await cli(["images", "--recipe", dir, "--log-level", "debug"], st);
    expect(first.stderr).not.toMatch(/resolution cache hit/);
    const second = await cli(["images", "--recipe", dir, "--log-level", "debug"], st);
    expect(second.stderr).toMatch(/resolution cache hit/);
    expect(second.stdout).toBe(first.stdout);
    writeFileSync(
      path.join(dir, "compose.yml"),
      readFileSync(path.join(dir, "compose.yml"), "utf8").replace("16.4", "16.5"),
    );
    const third = await cli(["images", "--recipe", dir, "--log-level", "debug"], st);
    expect(third.stderr).not.toMatch(/resolution cache hit/);
    expect(third.stdout).toBe("nginx:1.25\npostgres:16.5\n");
  });
});

describe("images --ref", () => {
  const git = (dir: string, ...args: string[]) =>
    execFileSync("git", [
      "-C",
      dir,
      "-c",
      "user.name=t",
      "-c",
      "user.email=t@example.org",
      ...args,
    ]).toString();

  it("resolves each tagged version's images without touching the checkout", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ikgit-"));
    git(dir, "init", "-q");
    writeFileSync(
      path.join(dir, "compose.yml"),
      'version: "3.8"\nservices:\n  app:\n    image: nginx:1.25.3\n',
    );
    git(dir, "add", ".");
    git(dir, "commit", "-qm", "v1");
    git(dir, "tag", "1.0.0+1.25.3");
    writeFileSync(
      path.join(dir, "compose.yml"),
      'version: "3.8"\nservices:\n  app:\n    image: nginx:${NGINX_VERSION:-1.27.1}\n',
    );
    writeFileSync(
      path.join(dir, "compose.redis.yml"),
      'version: "3.8"\nservices:\n  redis:\n    image: redis:7.2\n',
    );
    git(dir, "add", ".");
    git(dir, "commit", "-qm", "v2");
    git(dir, "tag", "2.0.0+1.27.1");
    git(dir, "checkout", "-q", "1.0.0+1.25.3");
    const headBefore = git(dir, "rev-parse", "HEAD");
    const env = path.join(mkdtempSync(path.join(tmpdir(), "ikenv-")), "app.env");
    writeFileSync(env, "COMPOSE_FILE=compose.yml\n");
    const v1 = await cli(["images", "--recipe", dir, "--env-file", env, "--ref", "1.0.0+1.25.3"], state());
    expect(v1.code).toBe(0);
    expect(v1.stdout).toBe("nginx:1.25.3\n");
    writeFileSync(env, "COMPOSE_FILE=compose.yml:compose.redis.yml\n");
    const v2 = await cli(["images", "--recipe", dir, "--env-file", env, "--ref", "2.0.0+1.27.1"], state());
    expect(v2.stderr).toMatch(/version 2\.0\.0\+1\.27\.1, from --ref/);
    expect(v2.stderr).not.toMatch(/^\d\d:\d\d:\d\d (warn|error) /m);
    expect(v2.stdout).toBe("nginx:1.27.1\nredis:7.2\n");
    // The working tree is still the old version, untouched.
    expect(git(dir, "rev-parse", "HEAD")).toBe(headBefore);
    expect(git(dir, "status", "--porcelain")).toBe("");
    const missing = await cli(
      ["images", "--recipe", dir, "--env-file", env, "--ref", "1.0.0+1.25.3"],
      state(),
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/compose\.redis\.yml.*does not exist.*at 1\.0\.0\+1\.25\.3/);
    const bad = await cli(["images", "--recipe", dir, "--ref", "9.9.9"], state());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /--ref 9\.9\.9 names no commit in .*; nearest tags: 1\.0\.0\+1\.25\.3, 2\.0\.0\+1\.27\.1/,
    );
  });
});
