import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  CredentialStore,
  credentialSource,
  fromAuthsEntry,
  fromHelperOutput,
  registryAuthHeader,
} from "../../src/auth/credentials.js";

const HUB = "https://index.docker.io/v1/";
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("which source the docker client uses", () => {
  const config = {
    auths: {
      [HUB]: { auth: b64("hub-user:hub-pass") },
      "registry.example.org": { auth: b64("u:p") },
      "https://legacy.example/v1/": { auth: b64("l:p") },
    },
    credHelpers: { "ghcr.io": "gh" },
  };
  it.each([
    ["credHelpers wins for its registry", config, "ghcr.io", "helper gh (credHelpers)"],
    ["auths for the others", config, "registry.example.org", "auths"],
    ["a legacy URL key matches its host", config, "legacy.example", "auths"],
    ["Docker Hub's key", config, HUB, "auths"],
    ["nothing for an unknown registry", config, "other.example", "none"],
    [
      "credsStore serves every registry without a helper of its own",
      { ...config, credsStore: "pass" },
      "registry.example.org",
      "helper pass (credsStore)",
    ],
    ["credHelpers beats credsStore", { ...config, credsStore: "pass" }, "ghcr.io", "helper gh (credHelpers)"],
    ["a helper keyed docker.io is not Docker Hub's", { credHelpers: { "docker.io": "x" } }, HUB, "none"],
  ])("%s", (_n, cfg, key, want) => {
    const s = credentialSource(cfg, key);
    expect(s.kind === "helper" ? `helper ${s.helper} (${s.via})` : s.kind).toBe(want);
  });
});

describe("an auths entry", () => {
  it.each([
    ["auth", { auth: b64("ci:s3cret:with:colons") }, { username: "ci", password: "s3cret:with:colons" }],
    ["identitytoken", { identitytoken: "tok", auth: b64("x:y") }, { identityToken: "tok" }],
    ["username/password", { username: "a", password: "b" }, { username: "a", password: "b" }],
    ["auth without a colon", { auth: b64("nocolon") }, undefined],
    ["empty", {}, undefined],
  ])("%s", (_n, entry, want) => {
    const c = fromAuthsEntry("r", entry);
    expect(c === undefined ? undefined : { ...c, serverAddress: undefined, from: undefined }).toEqual(
      want === undefined ? undefined : { ...want, serverAddress: undefined, from: undefined },
    );
  });
});

describe("a credential helper's answer", () => {
  it.each([
    ["a user", 0, '{"ServerURL":"r","Username":"u","Secret":"p"}', { username: "u", password: "p" }],
    ["an identity token", 0, '{"ServerURL":"r","Username":"<token>","Secret":"t"}', { identityToken: "t" }],
    ["not found", 1, "credentials not found in native keychain\n", undefined],
    ["an empty secret", 0, '{"Username":"u","Secret":""}', undefined],
  ])("%s", (_n, code, out, want) => {
    const c = fromHelperOutput("r", "credsStore", code, out);
    expect(c instanceof Error).toBe(false);
    expect(
      c === undefined ? undefined : { ...(c as object), serverAddress: undefined, from: undefined },
    ).toEqual(want === undefined ? undefined : { ...want, serverAddress: undefined, from: undefined });
  });
  it.each([
    ["a failure", 1, "error: keychain locked"],
    ["not JSON", 0, "user=u"],
    ["no secret", 0, '{"Username":"u"}'],
  ])("%s is an error", (_n, code, out) => {
    expect(fromHelperOutput("r", "credHelpers", code, out)).toBeInstanceOf(Error);
  });
});

describe("X-Registry-Auth", () => {
  const decode = (h: string) =>
    JSON.parse(Buffer.from(h.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString());
  it("is padded base64url of docker's AuthConfig", () => {
    // "??>" encodes with + and / in plain base64: the header must use - and _.
    const h = registryAuthHeader({ serverAddress: HUB, username: "u??>", password: "p??>", from: "auths" })!;
    expect(h).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(h.length % 4).toBe(0);
    expect(decode(h)).toEqual({ username: "u??>", password: "p??>", serveraddress: HUB });
  });
  it("carries an identity token instead of a password", () => {
    expect(
      decode(registryAuthHeader({ serverAddress: "r", identityToken: "t", from: "credsStore" })!),
    ).toEqual({
      identitytoken: "t",
      serveraddress: "r",
    });
  });
  it("is absent without a credential", () => {
    expect(registryAuthHeader(undefined)).toBeUndefined();
  });
});

describe("CredentialStore", () => {
  it("asks a helper once per registry and remembers the answer", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ikcred-"));
    writeFileSync(path.join(dir, "config.json"), JSON.stringify({ credsStore: "test" }));
    const asked: string[] = [];
    const store = new CredentialStore(path.join(dir, "config.json"), async (helper, key) => {
      asked.push(`${helper} ${key}`);
      return { exitCode: 0, stdout: JSON.stringify({ ServerURL: key, Username: "u", Secret: "p" }) };
    });
    const [a, b] = await Promise.all([store.get("r.example"), store.get("r.example")]);
    expect(a).toEqual({ serverAddress: "r.example", username: "u", password: "p", from: "credsStore" });
    expect(b).toBe(a);
    expect(asked).toEqual(["test r.example"]);
  });
  it("goes anonymous when the helper fails", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ikcred-"));
    writeFileSync(path.join(dir, "config.json"), JSON.stringify({ credHelpers: { "r.example": "x" } }));
    const store = new CredentialStore(path.join(dir, "config.json"), async () => {
      throw new Error("spawn docker-credential-x ENOENT");
    });
    expect(await store.get("r.example")).toBeUndefined();
  });
  it("reads nothing when there is no config", async () => {
    const store = new CredentialStore(path.join(tmpdir(), "does-not-exist", "config.json"));
    expect(await store.get(HUB)).toBeUndefined();
  });
});
