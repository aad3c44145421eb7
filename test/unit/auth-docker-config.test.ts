// Reading and updating a docker client config.json: other entries and keys survive, a damaged
// file is refused without quoting it, helpers that win over `auths` are named. The files are
// written in a temp dir (no tool runs here).
import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  credentialOverrides,
  dockerConfigDir,
  readDockerConfig,
  withCredential,
  writeDockerConfig,
} from "../../src/auth/dockerConfig.js";
import { DOCKER_HUB_KEY, resolveRegistry } from "../../src/auth/registry.js";
import { InputError } from "../../src/errors.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "ikauth-"));
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("dockerConfigDir", () => {
  it("prefers the flag, then DOCKER_CONFIG, then ~/.docker", () => {
    expect(dockerConfigDir("/x", { DOCKER_CONFIG: "/y", HOME: "/h" })).toBe("/x");
    expect(dockerConfigDir(undefined, { DOCKER_CONFIG: "/y", HOME: "/h" })).toBe("/y");
    expect(dockerConfigDir(undefined, { HOME: "/h" })).toBe("/h/.docker");
  });
});

describe("withCredential", () => {
  it("adds the entry and keeps every other key and entry", () => {
    const before = {
      auths: { "ghcr.io": { auth: b64("a:b") }, [DOCKER_HUB_KEY]: { auth: "old", identitytoken: "stale" } },
      proxies: { default: { httpProxy: "http://proxy:3128" } },
      currentContext: "default",
    };
    const after = withCredential(before, resolveRegistry("docker.io"), "ci", "tok");
    expect(after).toEqual({
      auths: { "ghcr.io": { auth: b64("a:b") }, [DOCKER_HUB_KEY]: { auth: b64("ci:tok") } },
      proxies: { default: { httpProxy: "http://proxy:3128" } },
      currentContext: "default",
    });
    // The input is not mutated (the caller may still report from it).
    expect(before.auths[DOCKER_HUB_KEY]).toEqual({ auth: "old", identitytoken: "stale" });
  });
});

describe("credentialOverrides", () => {
  const hub = resolveRegistry("docker.io");
  it("names a credential helper for the registry, under any alias", () => {
    expect(credentialOverrides({ credHelpers: { "docker.io": "pass" } }, hub)).toHaveLength(1);
    expect(credentialOverrides({ credHelpers: { "ghcr.io": "gcloud" } }, hub)).toEqual([]);
  });
  it("names a credsStore, which serves every registry", () => {
    expect(
      credentialOverrides({ credsStore: "secretservice" }, resolveRegistry("127.0.0.1:5000"))[0],
    ).toContain("docker-credential-secretservice");
  });
});

describe("readDockerConfig", () => {
  it("treats a missing or empty file as an empty config", () => {
    const d = tmp();
    expect(readDockerConfig(path.join(d, "config.json"))).toEqual({});
    writeFileSync(path.join(d, "config.json"), "\n");
    expect(readDockerConfig(path.join(d, "config.json"))).toEqual({});
  });

  it.each([
    ['{"auths": {"ghcr.io": {"auth": "c2VjcmV0OnNlY3JldA=="}}, oops}', "not valid JSON"],
    ['{"auths": {"ghcr.io": {"auth": "c2VjcmV0OnNlY3JldA==", xyz}}}', "not valid JSON"],
    ['{"auths": {"ghcr.io": {"auth": c2VjcmV0OnNlY3JldA==}}}', "not valid JSON"],
    ['{"auths": {"ghcr.io": {"auth": 42}}, "x": "c2VjcmV0OnNlY3JldA=="}', "auths.ghcr.io.auth"],
    ['["c2VjcmV0OnNlY3JldA=="]', "(top level)"],
  ])("refuses %s, naming the file and never quoting it", (text, what) => {
    const d = tmp();
    const file = path.join(d, "config.json");
    writeFileSync(file, text);
    let err: unknown;
    try {
      readDockerConfig(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const e = err as InputError;
    expect(e.kind).toBe("credentials");
    expect(e.message).toContain(file);
    expect(e.message).toContain(what);
    expect(e.hint).toContain("nothing was written");
    expect(`${e.message} ${e.hint}`).not.toContain("c2VjcmV0");
  });
});

describe("writeDockerConfig", () => {
  it("creates the directory 0700 and the file 0600", () => {
    const dir = path.join(tmp(), "a", ".docker");
    const { file } = writeDockerConfig(dir, { auths: {} });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ auths: {} });
  });

  it("narrows a directory that others can read", () => {
    const dir = path.join(tmp(), ".docker");
    mkdirSync(dir, { mode: 0o755 });
    expect(writeDockerConfig(dir, {}).tightenedDir).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("refuses to replace a symlinked config.json", () => {
    const d = tmp();
    writeFileSync(path.join(d, "elsewhere.json"), "{}");
    symlinkSync(path.join(d, "elsewhere.json"), path.join(d, "config.json"));
    expect(() => writeDockerConfig(d, {})).toThrow(/symlink/);
  });
});
