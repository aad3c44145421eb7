// Pins for the auth modules' decisions and messages that the table tests beside them left open
// (issue 12): which hosts are registries and which are loopback, where a token realm may receive
// credentials, what a challenge header parses to, which auths entries hold a credential, what a
// failing helper is reported as, and the exact text of the docker-config errors. Files live in
// temp dirs; the one credential helper is a shell script on PATH.
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseChallenge } from "../../src/auth/challenge.js";
import {
  CredentialStore,
  fromAuthsEntry,
  fromHelperOutput,
  registryAuthHeader,
} from "../../src/auth/credentials.js";
import { credentialOverrides, readDockerConfig, writeDockerConfig } from "../../src/auth/dockerConfig.js";
import { isLoopbackHost, registryHostname, resolveRegistry, sameRegistry } from "../../src/auth/registry.js";
import { safeRealm, tokenRequest } from "../../src/auth/token.js";
import { InputError } from "../../src/errors.js";
import { initLogger, setLogWriter, settingsFromEnv } from "../../src/log.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "ikauth-surv-"));
const b64 = (s: string) => Buffer.from(s).toString("base64");

function thrown(f: () => unknown): Error & { hint?: string; kind?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { hint?: string };
  }
  throw new Error("expected a throw");
}

describe("registry: which --registry values are registry hosts", () => {
  it.each([
    ["a", "a"],
    ["a.b", "a.b"],
    ["ab.cd", "ab.cd"],
    ["abcd.efgh", "abcd.efgh"],
    ["my-reg.ex-ample.org", "my-reg.ex-ample.org"],
    ["a1.b2.c3:5000", "a1.b2.c3:5000"],
    ["reg:1", "reg:1"],
    ["reg:65535", "reg:65535"],
    ["[::1]:5000", "[::1]:5000"],
    ["[fe80::1]", "[fe80::1]"],
    ["  ghcr.io  ", "ghcr.io"],
    ["HTTPS://Reg.Example:443/v2/", "reg.example:443"],
  ])("%j → key %j", (input, key) => {
    expect(resolveRegistry(input).key).toBe(key);
  });

  it.each([
    "-a",
    "a-",
    "a.-b",
    "a.b-",
    "a..b",
    ".a",
    "a_b",
    "a.b_c",
    "x-.example",
    "reg:",
    "reg:x",
    "reg:123456",
    "[]",
    "[zz]",
    "[::1",
    "reg:5000:1",
    "/ghcr.io",
  ])("rejects %j with the usage error", (input) => {
    const e = thrown(() => resolveRegistry(input));
    expect(e).toBeInstanceOf(InputError);
    expect(e.kind).toBe("usage");
    expect(e.message).toBe(`--registry "${input}" is not a registry host`);
    expect(e.hint).toBe(
      'Give the registry as host[:port], e.g. "docker.io" for Docker Hub or "registry.example.org:5000".',
    );
  });

  it.each([
    ["https://h:5000/v1/", "h:5000"],
    ["h:5000", "h:5000"],
    ["a:b://host", "a:b:"],
    ["/x", ""],
    ["x/y", "x"],
    [" Docker.IO ", "docker.io"],
  ])("registryHostname(%j) = %j", (text, host) => {
    expect(registryHostname(text)).toBe(host);
  });

  it.each([
    ["127.0.0.1", true],
    ["127.0.0.1:5000", true],
    ["127.100.200.255:5000", true],
    ["127.0.100.1", true],
    ["127.0.0.100", true],
    ["localhost:1", true],
    ["[::1]:5000", true],
    ["1127.0.0.1", false],
    ["127.0.0.1.example.org", false],
    ["127.0.0:1.1", false],
    ["127.0.0.1:5000:1", false],
    ["128.0.0.1", false],
  ])("isLoopbackHost(%j) = %s", (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it.each([
    ["https://index.docker.io/v1/", true],
    ["index.docker.io", true],
    ["registry-1.docker.io", true],
    ["docker.io", true],
    ["https://docker.io", true],
    ["ghcr.io", false],
    ["https://index.docker.io.example/v1/", false],
  ])("sameRegistry(%j, docker.io) = %s", (key, same) => {
    expect(sameRegistry(key, resolveRegistry("docker.io"))).toBe(same);
  });
});

describe("token: where credentials may go, and the refresh-token form", () => {
  it.each([
    ["not a url", "the token service is not a URL"],
    ["http://auth.example.org/token", "the token service http://auth.example.org is not https"],
    ["ftp://127.0.0.1/token", "the token service ftp://127.0.0.1 is not https"],
    ["ws://localhost:5001/token", "the token service ws://localhost:5001 is not https"],
  ])("%j is refused: %s", (realm, reason) => {
    expect(safeRealm(realm)).toEqual({ ok: false, reason });
  });

  it("a refresh-token grant without scopes sends no scope field", () => {
    const ch = parseChallenge('Bearer realm="https://auth.example/token",service="reg"')!;
    const r = tokenRequest(new URL("https://auth.example/token"), ch, [], { identityToken: "rt" });
    expect(r.body).toBe("grant_type=refresh_token&refresh_token=rt&service=reg&client_id=imagekeeper");
  });

  it("the client_id is imagekeeper", () => {
    const ch = parseChallenge('Bearer realm="https://auth.example/token"')!;
    const r = tokenRequest(new URL("https://auth.example/token"), ch, [], undefined);
    expect(r.url.href).toBe("https://auth.example/token?client_id=imagekeeper");
  });
});

describe("challenge: the auth-params", () => {
  it.each([
    ['Bearer realm="r"', { realm: "r" }],
    ["Bearer realm=r", { realm: "r" }],
    ['Bearer  realm="r"', { realm: "r" }],
    ['Bearer\trealm="r"', { realm: "r" }],
    ['Bearer realm="r",service="s"', { realm: "r", service: "s" }],
    ['Bearer realm="r", service="s"', { realm: "r", service: "s" }],
    ['Bearer realm="r" , service="s"', { realm: "r", service: "s" }],
    ['Bearer realm = "r"', { realm: "r" }],
    ['Bearer realm= "r"', { realm: "r" }],
    ['Bearer realm ="r"', { realm: "r" }],
    ['Bearer realm="r" ', { realm: "r" }],
    ["Bearer realm=abc,service=def", { realm: "abc", service: "def" }],
    ["Bearer realm=abc, service=def", { realm: "abc", service: "def" }],
    ["Bearer realm=abc ,service=def", { realm: "abc", service: "def" }],
    ['Bearer realm="",service=s', { realm: "", service: "s" }],
    ["Bearer realm=,service=s", { realm: "", service: "s" }],
    ['Bearer realm="a,b c",service="x"', { realm: "a,b c", service: "x" }],
    ['Bearer realm="ab\\"cd"', { realm: 'ab"cd' }],
    ['Bearer realm="a\\\\b"', { realm: "a\\b" }],
    ['Bearer ab="x",cd.e_f-g="y"', { ab: "x", "cd.e_f-g": "y" }],
    ['Bearer realm="r" junk service="s"', {}],
    ['Bearer realm="r",,service="s"', { realm: "r" }],
    // Parameters must be comma-separated: a missing comma ends the reading.
    ['Bearer realm="r" service="s"', {}],
    ['Bearer realm="r"x', { realm: '"r"x' }],
    ["Bearer =x", {}],
  ])("%j → %j", (header, params) => {
    expect(parseChallenge(header)?.params).toEqual(params);
  });

  it.each([
    ["  Basic", "basic"],
    ["Bearer", "bearer"],
    ["Bearer\t\trealm=x", "bearer"],
    ["x-Auth_2 a=b", "x-auth_2"],
  ])("%j has scheme %j", (header, scheme) => {
    expect(parseChallenge(header)?.scheme).toBe(scheme);
  });

  it.each(['Bearer"realm"', "1Bearer realm=x", "Bearer,realm=x"])("%j cannot be read", (header) => {
    expect(parseChallenge(header)).toBeUndefined();
  });
});

describe("credentials: auths entries and helper answers", () => {
  it.each([
    ["an auth with an empty username", { auth: b64(":pw") }, undefined],
    ["an auth without a colon", { auth: b64("userpw") }, undefined],
    ["a one-letter username", { auth: b64("u:") }, { username: "u", password: "" }],
    ["a password without a username", { password: "pw" }, undefined],
    ["an empty username and a password", { username: "", password: "pw" }, undefined],
    ["a username without a password", { username: "u" }, undefined],
    ["username and an empty password", { username: "u", password: "" }, { username: "u", password: "" }],
  ])("%s", (_n, entry, want) => {
    const c = fromAuthsEntry("r.example", entry);
    expect(c).toEqual(want && { serverAddress: "r.example", ...want, from: "auths" });
  });

  it.each([
    [2, "boom", "exit 2"],
    [undefined, "", "exit ?"],
    [0, "not json {", "its answer is not JSON"],
    [0, '{"Username":"u"}', "its answer lacks Username or Secret"],
    [0, "null", "its answer lacks Username or Secret"],
  ])("a helper exiting %j with %j fails with %j", (code, stdout, message) => {
    const r = fromHelperOutput("r.example", "credHelpers", code, stdout);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe(message);
  });

  it("the X-Registry-Auth header is base64 with - for + and _ for /, padding kept", () => {
    expect(
      registryAuthHeader({ serverAddress: "h", username: "u??>", password: "p??>", from: "auths" }),
    ).toBe("eyJ1c2VybmFtZSI6InU_Pz4iLCJwYXNzd29yZCI6InA_Pz4iLCJzZXJ2ZXJhZGRyZXNzIjoiaCJ9");
    expect(registryAuthHeader({ serverAddress: "h", username: "~~~", password: "", from: "auths" })).toBe(
      "eyJ1c2VybmFtZSI6In5-fiIsInBhc3N3b3JkIjoiIiwic2VydmVyYWRkcmVzcyI6ImgifQ==",
    );
  });

  it("a helper that cannot run is a warning on stderr, and the request goes anonymous", async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, "config.json"), JSON.stringify({ credHelpers: { "r.example": "gone" } }));
    const lines: string[] = [];
    setLogWriter((t) => lines.push(t));
    initLogger({ ...settingsFromEnv({}), format: "json", level: "info", quiet: false, journal: false });
    try {
      const store = new CredentialStore(path.join(dir, "config.json"), async () => {
        throw new Error("spawn docker-credential-gone ENOENT");
      });
      expect(await store.get("r.example")).toBeUndefined();
    } finally {
      setLogWriter(undefined);
      initLogger(settingsFromEnv());
    }
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({
        level: 40,
        msg: "the credential helper could not run; asking the registry anonymously",
        helper: "docker-credential-gone",
        registry: "r.example",
        problem: "spawn docker-credential-gone ENOENT",
      }),
    ]);
  });

  describe("the real credential helper on PATH", () => {
    const savedPath = process.env.PATH;
    afterEach(() => {
      process.env.PATH = savedPath;
    });

    it("forUser reads DOCKER_CONFIG/config.json and runs docker-credential-NAME get with the key on stdin", async () => {
      const bin = tmp();
      const helper = path.join(bin, "docker-credential-ikfake");
      writeFileSync(
        helper,
        '#!/bin/sh\n[ "$#" = 1 ] && [ "$1" = get ] || exit 3\nread key\nprintf \'{"Username":"u-%s","Secret":"s3"}\' "$key"\n',
      );
      chmodSync(helper, 0o755);
      process.env.PATH = `${bin}:${savedPath ?? ""}`;
      const dir = tmp();
      writeFileSync(
        path.join(dir, "config.json"),
        JSON.stringify({ credHelpers: { "r.example": "ikfake" } }),
      );
      const store = CredentialStore.forUser({ DOCKER_CONFIG: dir, HOME: "/nonexistent" });
      expect(await store.get("r.example")).toEqual({
        serverAddress: "r.example",
        username: "u-r.example",
        password: "s3",
        from: "credHelpers",
      });
    });
  });
});

describe("dockerConfig: messages and the file as written", () => {
  const FIX =
    "Repair it (it must be a JSON object, see `docker login`), or move it aside to start a new one; nothing was written.";

  it("an unreadable config (a directory) is an error naming the code, not an empty config", () => {
    const dir = tmp();
    const file = path.join(dir, "config.json");
    mkdirSync(file);
    const e = thrown(() => readDockerConfig(file));
    expect(e).toBeInstanceOf(InputError);
    expect(e.kind).toBe("credentials");
    expect(e.message).toBe(`cannot read the docker config ${file}: EISDIR`);
    expect(e.hint).toBe(
      "Run as the user who owns it, or point --docker-config at a directory you can write.",
    );
    expect((e as InputError).file).toBe(file);
  });

  it.each([
    ['{"auths": {"ghcr.io": {}}, oops}', " (at byte 27)"],
    ['{"a":1,}', " (at byte 7)"],
  ])("invalid JSON %j names the byte", (text, at) => {
    const file = path.join(tmp(), "config.json");
    writeFileSync(file, text);
    const e = thrown(() => readDockerConfig(file));
    expect(e.message).toBe(`the docker config ${file} is not valid JSON${at}`);
    expect(e.hint).toBe(FIX);
  });

  it("invalid JSON without a position says so without one", () => {
    const file = path.join(tmp(), "config.json");
    writeFileSync(file, '{"a":');
    const e = thrown(() => readDockerConfig(file));
    expect(e.message).toBe(`the docker config ${file} is not valid JSON`);
  });

  it("names every damaged place, comma-separated", () => {
    const file = path.join(tmp(), "config.json");
    writeFileSync(file, JSON.stringify({ auths: { a: { auth: 1 }, b: { auth: 2 } } }));
    const e = thrown(() => readDockerConfig(file));
    expect(e.message).toBe(
      `the docker config ${file} is damaged: unexpected value at auths.a.auth, auths.b.auth`,
    );
    expect(e.hint).toBe(FIX);
  });

  it("names a credential helper that docker asks before auths", () => {
    expect(credentialOverrides({ credHelpers: { "ghcr.io": "gcloud" } }, resolveRegistry("ghcr.io"))).toEqual(
      ['credHelpers["ghcr.io"] = "gcloud": docker asks docker-credential-gcloud for ghcr.io, not auths'],
    );
    expect(credentialOverrides({ credsStore: "pass" }, resolveRegistry("ghcr.io"))).toEqual([
      'credsStore = "pass": docker asks docker-credential-pass, not auths',
    ]);
  });

  it("refuses a symlinked config.json with the exact message and hint", () => {
    const d = tmp();
    const target = path.join(d, "elsewhere.json");
    writeFileSync(target, "{}");
    symlinkSync(target, path.join(d, "config.json"));
    const e = thrown(() => writeDockerConfig(d, {}));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe(`the docker config ${path.join(d, "config.json")} is a symlink to ${target}`);
    expect(e.hint).toBe(
      "Manage the credential where the link points, or use --docker-config with a directory of its own; nothing was written.",
    );
    expect((e as InputError).file).toBe(path.join(d, "config.json"));
    expect(readFileSync(target, "utf8")).toBe("{}");
  });

  it("writes docker's tab-indented layout and leaves an already private directory as it is", () => {
    const dir = path.join(tmp(), ".docker");
    mkdirSync(dir);
    chmodSync(dir, 0o1700);
    const r = writeDockerConfig(dir, { auths: { "r.example": { auth: "eA==" } } });
    expect(r.tightenedDir).toBe(false);
    expect(statSync(dir).mode & 0o7777).toBe(0o1700);
    expect(readFileSync(r.file, "utf8")).toBe(
      '{\n\t"auths": {\n\t\t"r.example": {\n\t\t\t"auth": "eA=="\n\t\t}\n\t}\n}\n',
    );
  });

  const asRoot = process.getuid?.() === 0;
  describe.skipIf(!asRoot)("ownership when root writes (runs as root)", () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it("root writing into another user's directory gives the file to that user", () => {
      const dir = tmp();
      chownSync(dir, 4321, 4322);
      const { file } = writeDockerConfig(dir, {});
      expect([statSync(file).uid, statSync(file).gid]).toEqual([4321, 4322]);
    });

    it("root writing into root's directory leaves the file root's (its group too)", () => {
      const dir = tmp();
      chownSync(dir, 0, 4322);
      const { file } = writeDockerConfig(dir, {});
      expect([statSync(file).uid, statSync(file).gid]).toEqual([0, 0]);
    });

    it("a non-root writer never chowns", () => {
      const dir = tmp();
      chownSync(dir, 4321, 4322);
      vi.spyOn(process, "getuid").mockReturnValue(1000);
      const { file } = writeDockerConfig(dir, {});
      expect([statSync(file).uid, statSync(file).gid]).toEqual([0, 0]);
    });
  });
});
