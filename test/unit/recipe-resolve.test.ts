// resolveRecipe, selectVersion, readDeployEnv and fingerprint (src/recipe/resolve.ts) on real
// inputs: recipe directories in tmpdirs, real `git init` repositories with release tags, and the
// real docker client's `docker stack config` (no daemon needed). Pinned here: the version chosen
// (pin, --ref, --chaos, the working tree) and what the Resolution reports about it; COMPOSE_FILE's
// order and checks; abra.sh exports over the .env and --set; the services, sorted, each with the
// file whose image: the merge kept; the resolution cache (a warm resolve spawns nothing, a change
// of content, variables or client misses, entries are evicted oldest first); the exact error for
// each way docker or the inputs can be wrong; the abort signal.
//
// Two seams stand in for the docker client where the real one cannot help: a wrapper script that
// counts its calls and then runs the real client (to prove a warm resolve spawns nothing), and a
// script that prints a fixed answer (the output of older clients, or output docker does not give).
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError, InterruptedError, ToolError } from "../../src/errors.js";
import {
  fingerprint,
  readDeployEnv,
  type ResolveOptions,
  resolveRecipe,
  selectVersion,
} from "../../src/recipe/resolve.js";
import { which } from "../../src/util/which.js";
import { DOCKER_CLI } from "../support/testbed.js";

/** Subprocesses on a loaded two-core machine: a test runs a dozen of them. */
const SLOW = { timeout: 60_000 };

const root = mkdtempSync(path.join(tmpdir(), "ik-resolve-"));
let DOCKER = "";
let CAT = "";
let n = 0;

beforeAll(() => {
  const found = which(DOCKER_CLI);
  let ok = false;
  try {
    if (found) execFileSync(found, ["stack", "config", "--help"], { stdio: "ignore" });
    ok = found !== undefined;
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new Error(
      `these tests need a docker client with 'docker stack config' (docker CLI >= 23; no daemon needed): "${DOCKER_CLI}" ${found ? `(${found}) has none` : "is not on PATH"}. Run scripts/setup.sh, or set IMAGEKEEPER_TEST_DOCKER to such a client.`,
    );
  }
  DOCKER = found!;
  CAT = which("cat")!;
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh directory under this file's root, with these files (relative paths). */
function mk(files: Record<string, string> = {}, name = `d${++n}`): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

const compose = (images: Record<string, string | null>) =>
  `version: "3.8"\nservices:\n${Object.entries(images)
    .map(([k, v]) => (v === null ? `  ${k}:\n    environment:\n      A: b\n` : `  ${k}:\n    image: ${v}\n`))
    .join("")}`;

const git = (dir: string, ...args: string[]) =>
  execFileSync(
    "git",
    ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "tag.gpgSign=false", ...args],
    {
      encoding: "utf8",
      env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" },
    },
  ).trim();

/** A docker client that counts its calls in a file, then runs the real one. */
function spyDocker(extra = ""): { path: string; calls: () => number } {
  const dir = mk();
  const log = path.join(dir, "calls");
  writeFileSync(log, "");
  const p = path.join(dir, "docker");
  writeFileSync(p, `#!/bin/sh\n${extra}echo x >> '${log}'\nexec '${DOCKER}' "$@"\n`, { mode: 0o755 });
  return { path: p, calls: () => readFileSync(log, "utf8").split("\n").length - 1 };
}

/** A docker client that answers with this output, whatever it is asked. */
function fakeDocker(o: { stdout?: string; stderr?: string; code?: number }): string {
  const dir = mk({ out: o.stdout ?? "", err: o.stderr ?? "" });
  const p = path.join(dir, "docker");
  writeFileSync(p, `#!/bin/sh\n'${CAT}' '${dir}/out'\n'${CAT}' '${dir}/err' >&2\nexit ${o.code ?? 0}\n`, {
    mode: 0o755,
  });
  return p;
}

const opts = (recipeDir: string, o: Partial<ResolveOptions> = {}): ResolveOptions => ({
  recipeDir,
  envFile: undefined,
  gitRef: undefined,
  set: {},
  docker: DOCKER,
  cacheDir: undefined,
  ...o,
});

const failure = async (p: Promise<unknown>) =>
  (await p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  )) as InputError & ToolError;

/** The parts of an error a user reads. */
const shown = (e: InputError | ToolError) => ({
  name: e.name,
  message: e.message,
  hint: e.hint,
  ...(e instanceof InputError ? { kind: e.kind, file: e.file } : {}),
});

const refs = (r: { services: { ref: string; service: string; file: string }[] }) =>
  r.services.map((s) => `${s.service}=${s.ref}@${s.file}`);

// ---------------------------------------------------------------------------------------------

const V1 = "1.0.0+1.25.3";
const V2 = "2.0.0+1.27.1";
const BROKEN = "1.5.0+broken";
const WORKER = "busybox:${WORKER_TAG:?exported by abra.sh}";

describe("which version, and what the Resolution says about it", SLOW, () => {
  let repo = "";
  let c1 = "";
  let annotated = "";
  let head = "";
  let env = "";

  beforeAll(() => {
    repo = mk({}, "demo");
    git(repo, "init", "-q", "-b", "main");
    const commit = (files: Record<string, string>, msg: string) => {
      for (const [f, text] of Object.entries(files)) writeFileSync(path.join(repo, f), text);
      git(repo, "add", ".");
      git(repo, "commit", "-qm", msg);
    };
    commit(
      {
        "compose.yml": compose({ worker: WORKER, app: "nginx:1.25.3" }),
        "abra.sh": "#!/bin/bash\nexport WORKER_TAG=1.36.0\nexport CONF_VERSION=v1\n",
      },
      "v1",
    );
    git(repo, "tag", V1);
    c1 = git(repo, "rev-parse", "HEAD");
    commit(
      {
        "compose.yml": compose({ app: "nginx:1.27.1", worker: WORKER }),
        "compose.redis.yml": compose({ redis: "redis:7.2" }),
        "abra.sh": "export WORKER_TAG=1.36.1\n",
      },
      "v2",
    );
    git(repo, "tag", "-a", "-m", "release 2", V2);
    annotated = git(repo, "rev-parse", V2);
    commit({ "abra.sh": "export WORKER_TAG=1.37.0\nexport BROKEN=a=b\n" }, "broken");
    git(repo, "tag", BROKEN);
    commit({ "abra.sh": "export WORKER_TAG=1.37.0\n" }, "next");
    head = git(repo, "rev-parse", "HEAD");
    // The working tree: ahead of HEAD, uncommitted.
    writeFileSync(path.join(repo, "compose.yml"), compose({ app: "nginx:1.28.0", worker: WORKER }));
    writeFileSync(path.join(repo, "abra.sh"), "export WORKER_TAG=1.37.1\n");
    env = path.join(mk(), "demo.example.org.env");
    writeFileSync(env, `TYPE=demo:${V1}\nDOMAIN=demo.example.org\n`);
  });

  it("the pin, by default (no chaos given): that tag's files and abra.sh, read from git; the checkout untouched", async () => {
    const status = git(repo, "status", "--porcelain");
    // The files are copied out of git into a temp dir, removed afterwards: watch the temp dir.
    const tmp = mk();
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    let r;
    try {
      expect(tmpdir()).toBe(tmp); // honoured in this thread or process, so the check below means something
      r = await resolveRecipe(opts(repo, { envFile: env }));
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(readdirSync(tmp)).toEqual([]);
    expect(r).toEqual({
      recipe: "demo",
      recipeDir: repo,
      gitRef: null,
      version: V1,
      versionSource: "pinned",
      revision: c1,
      versionNote: { text: `recipe demo version ${V1}, pinned by TYPE in ${env} line 1`, notice: false },
      files: ["compose.yml"],
      env: {
        vars: {
          TYPE: `demo:${V1}`,
          DOMAIN: "demo.example.org",
          WORKER_TAG: "1.36.0",
          CONF_VERSION: "v1",
          STACK_NAME: "demo_example_org",
        },
        file: env,
        overridden: [],
        lines: { TYPE: 1, DOMAIN: 2 },
        abraSh: {
          source: `abra.sh at ${V1}`,
          vars: { WORKER_TAG: "1.36.0", CONF_VERSION: "v1" },
          replaced: [],
        },
      },
      services: [
        { ref: "nginx:1.25.3", service: "app", file: "compose.yml" },
        { ref: "busybox:1.36.0", service: "worker", file: "compose.yml" },
      ],
    });
    expect(git(repo, "status", "--porcelain")).toBe(status);
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
  });

  it("--ref overrides the pin: an annotated tag, its own compose files and abra.sh; --set wins over the .env", async () => {
    const r = await resolveRecipe(
      opts(repo, {
        envFile: env,
        gitRef: V2,
        chaos: false,
        set: { COMPOSE_FILE: "compose.yml:compose.redis.yml", WORKER_TAG: "0.0.1" },
      }),
    );
    expect(r).toMatchObject({
      gitRef: V2,
      version: V2,
      versionSource: "ref",
      revision: annotated,
      versionNote: {
        text: `recipe demo version ${V2}, from --ref; the app .env pins demo:${V1} (TYPE in ${env} line 1)`,
        notice: false,
      },
      files: ["compose.yml", "compose.redis.yml"],
    });
    expect(r.env.abraSh).toEqual({
      source: `abra.sh at ${V2}`,
      vars: { WORKER_TAG: "1.36.1" },
      replaced: ["WORKER_TAG"],
    });
    expect(r.env.overridden).toEqual(["COMPOSE_FILE", "WORKER_TAG"]);
    expect(refs(r)).toEqual([
      "app=nginx:1.27.1@compose.yml",
      "redis=redis:7.2@compose.redis.yml",
      "worker=busybox:1.36.1@compose.yml",
    ]);
  });

  it("--chaos: the working tree as it is, uncommitted abra.sh included; HEAD's short commit is the version", async () => {
    const r = await resolveRecipe(opts(repo, { envFile: env, chaos: true }));
    expect(r).toMatchObject({
      gitRef: null,
      version: head.slice(0, 8),
      versionSource: "chaos",
      revision: null,
      versionNote: {
        text: `recipe demo: the working tree as it is (--chaos) at commit ${head.slice(0, 8)}; the pin demo:${V1} (TYPE in ${env} line 1) is not used`,
        notice: false,
      },
      files: ["compose.yml"],
    });
    expect(r.env.abraSh).toEqual({ source: "abra.sh", vars: { WORKER_TAG: "1.37.1" }, replaced: [] });
    expect(refs(r)).toEqual(["app=nginx:1.28.0@compose.yml", "worker=busybox:1.37.1@compose.yml"]);
  });

  it("no pin in a checkout: the working tree, with a notice naming the newest release", async () => {
    const e = path.join(mk(), "app.env");
    writeFileSync(e, "DOMAIN=demo.example.org\n");
    const r = await resolveRecipe(opts(repo, { envFile: e }));
    expect(r).toMatchObject({
      recipe: "demo",
      version: head.slice(0, 8),
      versionSource: "working-tree",
      revision: null,
      versionNote: {
        text:
          `recipe demo: the app .env pins no version, so the working tree at commit ${head.slice(0, 8)} is resolved as it is; ` +
          `abra app deploy would deploy the running version, else the newest release (${V2}). ` +
          "Pin the version as abra app new does (TYPE=demo:VERSION), pass --ref VERSION, or --chaos when the working tree is what will be deployed.",
        notice: true,
      },
    });
    expect(refs(r)).toEqual(["app=nginx:1.28.0@compose.yml", "worker=busybox:1.37.1@compose.yml"]);
  });

  it("cancelled while reading a pinned version from git: the interrupt, not a missing file", async () => {
    const ac = new AbortController();
    ac.abort(new InterruptedError("SIGTERM"));
    const e = await failure(resolveRecipe(opts(repo, { envFile: env, signal: ac.signal })));
    expect(e).toBeInstanceOf(InterruptedError);
    expect(e.message).toBe("interrupted by SIGTERM");
  });

  it("a pinned commit id (abra writes it after a --chaos deploy) resolves that commit", async () => {
    const r = await resolveRecipe(opts(repo, { set: { TYPE: `demo:${head.slice(0, 8)}` } }));
    expect(r).toMatchObject({ version: head.slice(0, 8), versionSource: "pinned", revision: head });
    expect(r.versionNote.text).toBe(`recipe demo version ${head.slice(0, 8)}, pinned by --set TYPE`);
    expect(refs(r)).toEqual(["app=nginx:1.27.1@compose.yml", "worker=busybox:1.37.0@compose.yml"]);
  });

  it("selectVersion and readDeployEnv: the .env layer, the located version, and that version's abra.sh over it", async () => {
    const sel = await selectVersion({
      recipeDir: path.relative(process.cwd(), repo),
      envFile: env,
      gitRef: undefined,
      set: { WORKER_TAG: "from-set", EXTRA: "1" },
    });
    expect(sel.recipe).toBe("demo");
    expect(sel.recipeDir).toBe(repo);
    expect(sel.base.vars).toEqual({
      TYPE: `demo:${V1}`,
      DOMAIN: "demo.example.org",
      WORKER_TAG: "from-set",
      EXTRA: "1",
    });
    expect(sel.located).toMatchObject({ source: "pinned", version: V1, oid: c1, head: null });
    const e = await readDeployEnv(sel);
    expect(e.vars).toMatchObject({ WORKER_TAG: "1.36.0", CONF_VERSION: "v1", EXTRA: "1" });
    expect(e.abraSh).toEqual({
      source: `abra.sh at ${V1}`,
      vars: { WORKER_TAG: "1.36.0", CONF_VERSION: "v1" },
      replaced: ["WORKER_TAG"],
    });
    // The working tree's abra.sh, named as such.
    const wt = await readDeployEnv(
      await selectVersion({ recipeDir: repo, envFile: env, gitRef: undefined, chaos: true, set: {} }),
    );
    expect(wt.abraSh).toEqual({ source: "abra.sh", vars: { WORKER_TAG: "1.37.1" }, replaced: [] });
  });

  it("an abra.sh abra cannot read, at a version: the error names the file at that version and the line", async () => {
    const e = await failure(resolveRecipe(opts(repo, { set: { TYPE: `demo:${BROKEN}` } })));
    expect(shown(e)).toEqual({
      name: "InputError",
      kind: "env",
      file: `${repo}/abra.sh at ${BROKEN}`,
      message: `${repo}/abra.sh at ${BROKEN}:2: abra cannot read this export: it splits what follows the last "export " on "=" and needs exactly one "=" there (its deploy stops with "couldn't parse")`,
      hint: 'abra.sh belongs to the recipe: fix the line there (a config version needs no "="), or resolve another recipe version.',
    });
  });

  it("a compose file missing at the version: named with the version, before any file is read from git", async () => {
    const e = await failure(
      resolveRecipe(opts(repo, { envFile: env, set: { COMPOSE_FILE: "compose.yml:compose.redis.yml" } })),
    );
    expect(shown(e)).toEqual({
      name: "InputError",
      kind: "compose",
      file: env,
      message: `the compose file "compose.redis.yml" (from COMPOSE_FILE) does not exist in ${repo} at ${V1}`,
      hint: `Fix COMPOSE_FILE in ${env} (files separated by ':', relative to the recipe), or check out the recipe version that has it.`,
    });
  });

  it("a plain directory without a pin: no version, quietly", async () => {
    const dir = mk({ "compose.yml": compose({ app: "nginx:1" }) }, "plainrecipe");
    const r = await resolveRecipe(opts(dir));
    expect(r).toEqual({
      recipe: "plainrecipe",
      recipeDir: dir,
      gitRef: null,
      version: null,
      versionSource: "working-tree",
      revision: null,
      versionNote: {
        text: `recipe plainrecipe: the files in ${dir} (not a git checkout: no versions)`,
        notice: false,
      },
      files: ["compose.yml"],
      env: { vars: {}, file: undefined, overridden: [], lines: {} },
      services: [{ ref: "nginx:1", service: "app", file: "compose.yml" }],
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe.concurrent("bad inputs: the error a user reads", SLOW, () => {
  it("the recipe directory does not exist", async () => {
    const dir = path.join(root, "nope");
    const e = await failure(resolveRecipe(opts(dir)));
    expect(shown(e)).toEqual({
      name: "InputError",
      kind: "usage",
      file: undefined,
      message: `the recipe directory ${dir} does not exist`,
      hint: "Pass --recipe with the path of the recipe's checkout (e.g. ~/.abra/recipes/NAME).",
    });
  });

  it("the recipe 'directory' is a file", async () => {
    const file = path.join(mk({ "compose.yml": compose({ app: "nginx:1" }) }), "compose.yml");
    const e = await failure(
      selectVersion({ recipeDir: file, envFile: undefined, gitRef: undefined, set: {} }),
    );
    expect(shown(e)).toMatchObject({
      name: "InputError",
      message: `the recipe directory ${file} does not exist`,
    });
  });

  it("the env file does not exist", async () => {
    const dir = mk({ "compose.yml": compose({ app: "nginx:1" }) });
    const envFile = path.join(dir, "missing.env");
    const e = await failure(resolveRecipe(opts(dir, { envFile })));
    expect(shown(e)).toEqual({
      name: "InputError",
      kind: "env",
      file: envFile,
      message: `cannot read env file ${envFile}: ENOENT`,
      hint: "check the path given with --env-file and that this user may read it",
    });
  });

  it("--chaos and --ref together", async () => {
    const dir = mk({ "compose.yml": compose({ app: "nginx:1" }) });
    const e = await failure(resolveRecipe(opts(dir, { chaos: true, gitRef: "1.0.0" })));
    expect(shown(e)).toMatchObject({ kind: "usage", message: "--chaos and --ref contradict each other" });
  });

  it("COMPOSE_FILE: a missing file, a path outside the recipe, the default missing", async () => {
    const dir = mk({
      "compose.yml": compose({ app: "nginx:1" }),
      "app.env": "COMPOSE_FILE=compose.yml:compose.nope.yml\n",
    });
    const envFile = path.join(dir, "app.env");
    expect(shown(await failure(resolveRecipe(opts(dir, { envFile }))))).toEqual({
      name: "InputError",
      kind: "compose",
      file: envFile,
      message: `the compose file "compose.nope.yml" (from COMPOSE_FILE) does not exist in the recipe directory ${dir}`,
      hint: `Fix COMPOSE_FILE in ${envFile} (files separated by ':', relative to the recipe), or check out the recipe version that has it.`,
    });
    expect(
      (await failure(resolveRecipe(opts(dir, { envFile, set: { COMPOSE_FILE: "../x/compose.yml" } }))))
        .message,
    ).toBe('COMPOSE_FILE names "../x/compose.yml", which is not a path inside the recipe');
    const empty = mk({ "other.yml": "" });
    expect(shown(await failure(resolveRecipe(opts(empty))))).toEqual({
      name: "InputError",
      kind: "compose",
      file: undefined,
      message: `the compose file "compose.yml" (from the default) does not exist in the recipe directory ${empty}`,
      hint: "Pass --env-file with the app's .env (its COMPOSE_FILE lists the files), or add compose.yml to the recipe.",
    });
  });

  it("a pin that is not a tag: the nearest tags", async () => {
    const dir = mk({ "compose.yml": compose({ app: "nginx:1" }) });
    git(dir, "init", "-q");
    git(dir, "add", ".");
    git(dir, "commit", "-qm", "one");
    git(dir, "tag", "1.0.0");
    const e = await failure(resolveRecipe(opts(dir, { set: { TYPE: "x:1.0.1" } })));
    expect(e.message).toBe(`--set TYPE pins x:1.0.1, but 1.0.1 is not a tag in ${dir}; nearest tags: 1.0.0`);
  });
});

// ---------------------------------------------------------------------------------------------

describe.concurrent("compose files, variables and services", SLOW, () => {
  const multi = () =>
    mk({
      "compose.yml": compose({ app: "nginx:${NGINX_VERSION:-1.25.3}", db: "postgres:${PG_VERSION}" }),
      "compose.pinned.yml": compose({ app: "nginx:1.27.1-alpine", cron: "mcuadros/ofelia:v0.3.13" }),
      // Mentions app without an image: the image stays the one of the file before.
      "compose.env.yml": compose({ app: null, db: null }),
    });

  it("COMPOSE_FILE's files merge in order; each service names the last file that set its image", async () => {
    const dir = multi();
    const r = await resolveRecipe(
      opts(dir, {
        set: { COMPOSE_FILE: "compose.yml:compose.pinned.yml:compose.env.yml", PG_VERSION: "15" },
      }),
    );
    expect(r.files).toEqual(["compose.yml", "compose.pinned.yml", "compose.env.yml"]);
    expect(refs(r)).toEqual([
      "app=nginx:1.27.1-alpine@compose.pinned.yml",
      "cron=mcuadros/ofelia:v0.3.13@compose.pinned.yml",
      "db=postgres:15@compose.yml",
    ]);
    const rev = await resolveRecipe(
      opts(dir, { set: { COMPOSE_FILE: "compose.pinned.yml:compose.yml", PG_VERSION: "15" } }),
    );
    expect(refs(rev)).toEqual([
      "app=nginx:1.25.3@compose.yml",
      "cron=mcuadros/ofelia:v0.3.13@compose.pinned.yml",
      "db=postgres:15@compose.yml",
    ]);
  });

  it("abra.sh exports win over the .env and --set; --set wins over the .env; the process env is not used", async () => {
    const dir = multi();
    writeFileSync(path.join(dir, "abra.sh"), "export NGINX_VERSION=1.26.0\n");
    writeFileSync(path.join(dir, "app.env"), "NGINX_VERSION=1.20.0\nPG_VERSION=14\n");
    const leak = "IK_RESOLVE_TEST_LEAK";
    writeFileSync(path.join(dir, "compose.leak.yml"), compose({ leak: `busybox:\${${leak}:-1.36.0}` }));
    process.env[leak] = "9.9.9";
    try {
      const r = await resolveRecipe(
        opts(dir, {
          envFile: path.join(dir, "app.env"),
          set: { NGINX_VERSION: "1.21.0", PG_VERSION: "16.4", COMPOSE_FILE: "compose.yml:compose.leak.yml" },
        }),
      );
      expect(refs(r)).toEqual([
        "app=nginx:1.26.0@compose.yml",
        "db=postgres:16.4@compose.yml",
        "leak=busybox:1.36.0@compose.leak.yml",
      ]);
      expect(r.env.abraSh).toEqual({
        source: "abra.sh",
        vars: { NGINX_VERSION: "1.26.0" },
        replaced: ["NGINX_VERSION"],
      });
    } finally {
      delete process.env[leak];
    }
  });

  it("services are sorted by name (not in docker's order)", async () => {
    const dir = mk({ "compose.yml": compose({ app9: "b:1", Web: "c:1", app10: "a:1" }) });
    const r = await resolveRecipe(opts(dir));
    expect(r.services.map((s) => s.service)).toEqual(["app10", "app9", "Web"]);
  });
});

// ---------------------------------------------------------------------------------------------

describe.concurrent("docker's errors, each as the user reads it", SLOW, () => {
  it("a required variable without a value: the message, the file that uses it, the fix", async () => {
    const dir = mk({
      "compose.yml": compose({ app: "nginx:1" }),
      "compose.b.yml": compose({ b: "busybox:${B_TAG:?set B_TAG in .env  }" }),
      "app.env": "COMPOSE_FILE=compose.yml:compose.b.yml\n",
    });
    const envFile = path.join(dir, "app.env");
    expect(shown(await failure(resolveRecipe(opts(dir, { envFile }))))).toEqual({
      name: "InputError",
      kind: "interpolation",
      file: "compose.b.yml",
      message:
        'required variable B_TAG is missing a value ("set B_TAG in .env"), used by services.b.image in compose.b.yml',
      hint: `Set B_TAG in the app .env (${envFile}), or pass --set B_TAG=VALUE.`,
    });
  });

  it("a required variable used in two files, without a message, no env file", async () => {
    const dir = mk({
      "compose.yml": compose({ app: "nginx:${TAG?}" }),
      "compose.b.yml": compose({ b: "busybox:${TAG:?}" }),
    });
    expect(
      shown(await failure(resolveRecipe(opts(dir, { set: { COMPOSE_FILE: "compose.yml:compose.b.yml" } })))),
    ).toEqual({
      name: "InputError",
      kind: "interpolation",
      file: "compose.yml",
      message:
        "required variable TAG is missing a value, used by services.app.image in compose.yml, compose.b.yml",
      hint: "Set TAG in the app .env, or pass --set TAG=VALUE.",
    });
  });

  it("bad variable syntax", async () => {
    const dir = mk({
      "compose.yml": compose({ app: "nginx:1" }),
      "compose.b.yml": compose({ b: "busybox:${B TAG}" }),
    });
    expect(
      shown(await failure(resolveRecipe(opts(dir, { set: { COMPOSE_FILE: "compose.yml:compose.b.yml" } })))),
    ).toEqual({
      name: "InputError",
      kind: "interpolation",
      file: "compose.yml",
      message:
        'bad variable syntax in services.b.image (compose.yml, compose.b.yml): invalid interpolation format for services.b.image: "busybox:${B TAG}"; you may need to escape any $ with another $',
      hint: "Write variables as $VAR, ${VAR}, ${VAR:-default} or ${VAR:?message}; write a literal $ as $$.",
    });
  });

  it("broken YAML: the file our parser finds broken", async () => {
    const dir = mk({
      "compose.yml": compose({ app: "nginx:1" }),
      "compose.b.yml": 'version: "3.8"\nservices:\n  b:\n    image: [oops\n',
    });
    expect(
      shown(await failure(resolveRecipe(opts(dir, { set: { COMPOSE_FILE: "compose.yml:compose.b.yml" } })))),
    ).toEqual({
      name: "InputError",
      kind: "compose",
      file: "compose.b.yml",
      message: "compose.b.yml is not valid YAML: line 3: did not find expected ',' or ']'",
      hint: "Fix the YAML syntax at the line shown (indent with spaces, close brackets and quotes).",
    });
  });

  it("anything else docker refuses: its first line", async () => {
    const dir = mk({
      "compose.yml": compose({ app: "nginx:1" }),
      "compose.b.yml": 'version: "3.8"\nservices:\n  b:\n    image: busybox\n    ports: 5\n',
    });
    expect(
      shown(await failure(resolveRecipe(opts(dir, { set: { COMPOSE_FILE: "compose.yml:compose.b.yml" } })))),
    ).toEqual({
      name: "InputError",
      kind: "compose",
      file: "compose.yml",
      message:
        "docker could not load the compose files compose.yml, compose.b.yml: services.b.ports must be a list",
      hint: "Check the files with 'docker stack config -c FILE…' using the app's variables; all files must declare the same version.",
    });
  });

  it("a service without an image after the merge", async () => {
    const dir = mk({ "compose.yml": compose({ app: "nginx:1", side: null }), "app.env": "A=1\n" });
    const envFile = path.join(dir, "app.env");
    expect(shown(await failure(resolveRecipe(opts(dir, { envFile }))))).toEqual({
      name: "InputError",
      kind: "compose",
      file: envFile,
      message: 'service "side" has no image after merging compose.yml',
      hint: "Give services.side.image in a compose file (swarm stacks cannot build), or set the variable it uses in the app .env.",
    });
    const e = await failure(resolveRecipe(opts(dir, { set: { COMPOSE_FILE: "compose.yml:compose.yml" } })));
    expect(shown(e)).toMatchObject({
      file: undefined,
      message: 'service "side" has no image after merging compose.yml, compose.yml',
    });
  });

  it("an image that interpolates to a bad reference: the unset variables of its file are the suspects", async () => {
    const dir = mk({
      "compose.yml": compose({ app: "nginx:1" }),
      "compose.b.yml": compose({ b: "${REGISTRY}/busybox:${Tag_2}${SET_ONE}", c: "$Tag_2" }),
      "app.env": "COMPOSE_FILE=compose.yml:compose.b.yml\nSET_ONE=x\n",
    });
    const envFile = path.join(dir, "app.env");
    expect(shown(await failure(resolveRecipe(opts(dir, { envFile }))))).toEqual({
      name: "InputError",
      kind: "reference",
      file: "compose.b.yml",
      message: 'service "b" in compose.b.yml resolves to a bad image reference: ' + badReason("/busybox:x"),
      hint: `Set REGISTRY or Tag_2 in the app .env (${envFile}) or with --set KEY=VALUE.`,
    });
    const plain = mk({ "compose.yml": compose({ app: "nginx:$TAG" }) });
    expect((await failure(resolveRecipe(opts(plain)))).hint).toBe(
      "Set TAG in the app .env or with --set KEY=VALUE.",
    );
    // Every variable set: the image itself is wrong.
    const fixed = mk({ "compose.yml": compose({ app: "nginx:${TAG}" }) });
    expect(shown(await failure(resolveRecipe(opts(fixed, { set: { TAG: "a b" } }))))).toEqual({
      name: "InputError",
      kind: "reference",
      file: "compose.yml",
      message: 'service "app" in compose.yml resolves to a bad image reference: ' + badReason("nginx:a b"),
      hint: "Fix services.app.image in compose.yml.",
    });
  });
});

/** The reason src/model/reference.ts gives (that module's own tests pin it). */
let badReason: (ref: string) => string = () => "";
beforeAll(async () => {
  const { parseReference } = await import("../../src/model/reference.js");
  badReason = (ref) => {
    const p = parseReference(ref);
    if (p.ok) throw new Error(`${ref} is a good reference`);
    return p.reason;
  };
});

describe.concurrent("docker answers it does not give today (older clients, other versions)", SLOW, () => {
  const dir2 = () => mk({ "a.yml": compose({ app: "nginx:1" }), "b.yml": compose({ b: "busybox:1" }) });
  const run2 = (docker: string, dir = dir2()) =>
    failure(resolveRecipe(opts(dir, { docker, set: { COMPOSE_FILE: "a.yml:b.yml" } })));

  it.each([
    ["unknown command", 'unknown command "config" for "docker stack"\n'],
    ["unknown flag", "unknown flag: --compose-file\nSee 'docker stack --help'.\n"],
    ["not a docker command", "docker: 'stack' is not a docker command.\n"],
    ["docker 20.10's usage", "\nUsage:  docker stack [OPTIONS] COMMAND\n\nManage Docker stacks\n"],
  ])("a client without 'docker stack config' (%s)", async (_, stderr) => {
    const docker = fakeDocker({ stderr, code: 125 });
    expect(shown(await run2(docker))).toEqual({
      name: "ToolError",
      message: `the docker client '${docker}' has no 'docker stack config' (it needs docker CLI 23 or later)`,
      hint: 'Install a newer docker client, or point the config key "docker" (or IMAGEKEEPER_DOCKER) at one.',
    });
  });

  it("output that is not YAML, and YAML of the wrong shape", async () => {
    const bad = fakeDocker({ stdout: "services: [oops\n" });
    const e = await run2(bad);
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toMatch(
      new RegExp(
        `^could not read the output of '${bad} stack config': Flow sequence in block collection must be sufficiently indented`,
      ),
    );
    const shape = fakeDocker({ stdout: "services: 5\n" });
    const s = await run2(shape);
    expect(s).toBeInstanceOf(ToolError);
    expect(s.message).toMatch(new RegExp(`^unexpected output from '${shape} stack config': \\[`));
    expect(s.message).toContain('"path": [\n      "services"\n    ]');
  });

  it("an empty image is no image", async () => {
    const docker = fakeDocker({ stdout: 'services:\n  app:\n    image: ""\n  b:\n    image: busybox:1\n' });
    expect((await run2(docker)).message).toBe('service "app" has no image after merging a.yml, b.yml');
  });

  it("a required variable without the interpolation prefix, named in no file", async () => {
    const docker = fakeDocker({ stderr: "required variable OTHER is missing a value\n", code: 1 });
    expect(shown(await run2(docker))).toEqual({
      name: "InputError",
      kind: "interpolation",
      file: "a.yml",
      message: "required variable OTHER is missing a value, used by the compose files in a.yml, b.yml",
      hint: "Set OTHER in the app .env, or pass --set OTHER=VALUE.",
    });
  });

  it("YAML errors: only a line that starts with 'yaml:'; a file with no document is not the broken one; none found", async () => {
    const mid = fakeDocker({ stderr: "error: yaml: line 1: bad\n", code: 1 });
    expect((await run2(mid)).message).toBe(
      "docker could not load the compose files a.yml, b.yml: error: yaml: line 1: bad",
    );
    const yamlErr = fakeDocker({
      stderr: "loading\nyaml: line 2: mapping values are not allowed in this context\nmore\n",
      code: 1,
    });
    const dir = mk({ "a.yml": "", "b.yml": "services:\n  b: x: y\n" });
    expect(shown(await run2(yamlErr, dir))).toEqual({
      name: "InputError",
      kind: "compose",
      file: "b.yml",
      message: "b.yml is not valid YAML: line 2: mapping values are not allowed in this context",
      hint: "Fix the YAML syntax at the line shown (indent with spaces, close brackets and quotes).",
    });
    expect(shown(await run2(yamlErr))).toMatchObject({
      file: "a.yml",
      message: "a.yml, b.yml is not valid YAML: line 2: mapping values are not allowed in this context",
    });
  });

  it("docker that cannot be run: a ToolError, with or without a cache", async () => {
    const dir = mk({ "compose.yml": compose({ app: "nginx:1" }) });
    const cacheDir = mk();
    for (const docker of ["ik-no-such-docker-client", path.join(root, "no", "docker")]) {
      for (const c of [cacheDir, undefined]) {
        const e = await failure(resolveRecipe(opts(dir, { docker, cacheDir: c })));
        expect(e).toBeInstanceOf(ToolError);
        expect(e.message).toMatch(new RegExp(`^could not run ${docker.replaceAll("/", "\\/")}: `));
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe.concurrent("the resolution cache", SLOW, () => {
  it("a warm resolve spawns nothing and answers the same; content, values and the client are the key, order is not", async () => {
    const dir = mk({
      "compose.yml": compose({ app: "nginx:${NGINX_VERSION}", db: "postgres:16.4" }),
      "app.env": "NGINX_VERSION=1.25\nDOMAIN=a.example.org\n",
    });
    const envFile = path.join(dir, "app.env");
    const cacheDir = mk();
    const spy = spyDocker();
    const o = opts(dir, { envFile, docker: spy.path, cacheDir });
    const cold = await resolveRecipe(o);
    expect(spy.calls()).toBe(1);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith(".json"))).toHaveLength(1);
    const warm = await resolveRecipe(o);
    expect(spy.calls()).toBe(1);
    expect(warm).toEqual(cold);
    // The same variables in another order: the same key.
    writeFileSync(envFile, "DOMAIN=a.example.org\nNGINX_VERSION=1.25\n");
    await resolveRecipe(o);
    expect(spy.calls()).toBe(1);
    // Another value: a miss.
    writeFileSync(envFile, "DOMAIN=a.example.org\nNGINX_VERSION=1.26\n");
    expect(refs(await resolveRecipe(o))).toEqual([
      "app=nginx:1.26@compose.yml",
      "db=postgres:16.4@compose.yml",
    ]);
    expect(spy.calls()).toBe(2);
    // Another compose file content: a miss.
    writeFileSync(
      path.join(dir, "compose.yml"),
      compose({ app: "nginx:${NGINX_VERSION}", db: "postgres:16.5" }),
    );
    expect(refs(await resolveRecipe(o))).toEqual([
      "app=nginx:1.26@compose.yml",
      "db=postgres:16.5@compose.yml",
    ]);
    expect(spy.calls()).toBe(3);
    await resolveRecipe(o);
    expect(spy.calls()).toBe(3);
    // Another docker client (the same path, new content): a miss.
    writeFileSync(spy.path, `${readFileSync(spy.path, "utf8")}# upgraded\n`);
    await resolveRecipe(o);
    expect(spy.calls()).toBe(4);
    // Another recipe in the same cache: its own answer.
    const other = mk({ "compose.yml": compose({ x: "redis:7" }) });
    expect(refs(await resolveRecipe(opts(other, { docker: spy.path, cacheDir })))).toEqual([
      "x=redis:7@compose.yml",
    ]);
    expect(spy.calls()).toBe(5);
  });

  it("a pinned version: a warm resolve needs no docker, keeps abra.sh's exports, and another version is another entry", async () => {
    const repo = mk();
    git(repo, "init", "-q");
    writeFileSync(path.join(repo, "compose.yml"), compose({ app: "nginx:${TAG:?}" }));
    writeFileSync(path.join(repo, "abra.sh"), "export TAG=1.25\n");
    git(repo, "add", ".");
    git(repo, "commit", "-qm", "one");
    git(repo, "tag", "1.0.0");
    writeFileSync(path.join(repo, "abra.sh"), "export TAG=1.27\n");
    git(repo, "commit", "-qam", "two");
    git(repo, "tag", "2.0.0");
    const envFile = path.join(mk(), "app.env");
    writeFileSync(envFile, "TYPE=r:1.0.0\nDOMAIN=r.example.org\n");
    const cacheDir = mk();
    const spy = spyDocker();
    const o = opts(repo, { envFile, docker: spy.path, cacheDir });
    const cold = await resolveRecipe(o);
    expect(refs(cold)).toEqual(["app=nginx:1.25@compose.yml"]);
    expect(spy.calls()).toBe(1);
    const warm = await resolveRecipe(o);
    expect(spy.calls()).toBe(1);
    expect(warm).toEqual(cold);
    expect(warm.env.abraSh).toEqual({ source: "abra.sh at 1.0.0", vars: { TAG: "1.25" }, replaced: [] });
    expect(warm.env.vars.TAG).toBe("1.25");
    writeFileSync(envFile, "DOMAIN=r.example.org\nTYPE=r:1.0.0\n");
    await resolveRecipe(o);
    expect(spy.calls()).toBe(1);
    writeFileSync(envFile, "TYPE=r:2.0.0\n");
    expect(refs(await resolveRecipe(o))).toEqual(["app=nginx:1.27@compose.yml"]);
    expect(spy.calls()).toBe(2);
    // No abra.sh at a version: none in the warm answer either.
    rmSync(path.join(repo, "abra.sh"));
    writeFileSync(path.join(repo, "compose.yml"), compose({ app: "nginx:1.28" }));
    git(repo, "commit", "-qam", "three");
    git(repo, "tag", "3.0.0");
    writeFileSync(envFile, "TYPE=r:3.0.0\n");
    const c3 = await resolveRecipe(o);
    const w3 = await resolveRecipe(o);
    expect(spy.calls()).toBe(3);
    expect(w3).toEqual(c3);
    expect(w3.env.abraSh).toBeUndefined();
    // A docker client that is not on PATH: a ToolError, before any cache lookup.
    for (const c of [cacheDir, undefined]) {
      const e = await failure(resolveRecipe({ ...o, docker: "ik-no-such-docker-client", cacheDir: c }));
      expect(e).toBeInstanceOf(ToolError);
      expect(e.message).toMatch(/^could not run ik-no-such-docker-client: /);
    }
  });

  it("an entry whose input differs (a hash collision) or that cannot be read is not used", async () => {
    const dir = mk({ "compose.yml": compose({ app: "nginx:1.25" }) });
    const cacheDir = mk();
    const spy = spyDocker();
    const o = opts(dir, { docker: spy.path, cacheDir });
    await resolveRecipe(o);
    const [name] = readdirSync(cacheDir);
    const file = path.join(cacheDir, name!);
    const entry = JSON.parse(readFileSync(file, "utf8")) as { input: string; services: unknown[] };
    // The file name is the fingerprint of the whole input.
    expect(name).toBe(`${fingerprint(entry.input)}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        ...entry,
        input: `${entry.input} `,
        services: [{ ref: "evil:1", service: "app", file: "compose.yml" }],
      }),
    );
    expect(refs(await resolveRecipe(o))).toEqual(["app=nginx:1.25@compose.yml"]);
    expect(spy.calls()).toBe(2);
    writeFileSync(file, "{not json");
    expect(refs(await resolveRecipe(o))).toEqual(["app=nginx:1.25@compose.yml"]);
    expect(spy.calls()).toBe(3);
    writeFileSync(file, JSON.stringify({ input: entry.input, services: "nope" }));
    expect(refs(await resolveRecipe(o))).toEqual(["app=nginx:1.25@compose.yml"]);
    expect(spy.calls()).toBe(4);
    await resolveRecipe(o);
    expect(spy.calls()).toBe(4);
  });

  it("without a cache dir nothing is kept", async () => {
    const dir = mk({ "compose.yml": compose({ app: "nginx:1.25" }) });
    const spy = spyDocker();
    await resolveRecipe(opts(dir, { docker: spy.path }));
    await resolveRecipe(opts(dir, { docker: spy.path }));
    expect(spy.calls()).toBe(2);
  });

  /** A cache dir holding `count` old entries (oldest first by mtime, names not in that order) and two other files. */
  function filledCache(count: number): string {
    const dir = mk();
    const t0 = Date.now() / 1000 - 100_000;
    for (let i = 0; i < count; i++) {
      const f = path.join(dir, `old-${String((i * 7919) % count).padStart(3, "0")}-${i}.json`);
      writeFileSync(f, "{}");
      utimesSync(f, t0 + i, t0 + i);
    }
    for (const other of ["a.tmp", "b.txt"]) {
      writeFileSync(path.join(dir, other), "");
      utimesSync(path.join(dir, other), t0 - 10, t0 - 10);
    }
    return dir;
  }
  const oldName = (count: number, i: number) =>
    `old-${String((i * 7919) % count).padStart(3, "0")}-${i}.json`;

  it("at most 256 entries: the oldest go, other files stay", async () => {
    const recipe = mk({ "compose.yml": compose({ app: "nginx:1.25" }) });
    const cacheDir = filledCache(256);
    await resolveRecipe(opts(recipe, { cacheDir }));
    const names = readdirSync(cacheDir);
    expect(names.filter((f) => f.endsWith(".json"))).toHaveLength(256);
    expect(names).not.toContain(oldName(256, 0));
    expect(names).toContain(oldName(256, 1));
    expect(names).toContain("a.tmp");
    expect(names).toContain("b.txt");
  });

  it("below the cap nothing is evicted", async () => {
    const recipe = mk({ "compose.yml": compose({ app: "nginx:1.25" }) });
    const cacheDir = filledCache(200);
    await resolveRecipe(opts(recipe, { cacheDir }));
    expect(readdirSync(cacheDir)).toHaveLength(203);
  });
});

// ---------------------------------------------------------------------------------------------

describe("the abort signal", SLOW, () => {
  it("an aborted resolve runs no docker, fails, and leaves no cache entry", async () => {
    const dir = mk({ "compose.yml": compose({ app: "nginx:1.25" }) });
    const cacheDir = mk();
    const spy = spyDocker();
    const ac = new AbortController();
    ac.abort(new InterruptedError("SIGINT"));
    // The interrupt itself (src/cli.ts exits 130 on it), not a compose error made of no stderr.
    const e = await failure(resolveRecipe(opts(dir, { docker: spy.path, cacheDir, signal: ac.signal })));
    expect(e).toBeInstanceOf(InterruptedError);
    expect(e.message).toBe("interrupted by SIGINT");
    expect(spy.calls()).toBe(0);
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(refs(await resolveRecipe(opts(dir, { docker: spy.path, cacheDir })))).toEqual([
      "app=nginx:1.25@compose.yml",
    ]);
    expect(spy.calls()).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------

describe("fingerprint", SLOW, () => {
  // Written out once from the implementation: a change of seeds, step or lane order changes them
  // (and with them every cache file name, which costs one cold resolve: no harm, but no accident).
  it.each([
    ["a", "230af959fa023525b452e899793004e5"],
    ["ab", "474495a79f77f20a8585d1e53896ff76"],
    ["ba", "1c42135fb675d7a886806ee1f795ed8c"],
    ["abcdefghij", "5e5f0e1f43e0b136020cf4900e7f7c95"],
    ["\u00e9\u20ac\u{1f600}", "8ffb4a53d844e36bdd624815a48c0d8c"],
    // A lane below 0x10000000 keeps its leading zero.
    ["k20", "53e334402383eeb05a2def0f0780c5de"],
    ["x".repeat(100), "050c9cdf69d6b9ad7d254cc3a7f6966e"],
  ])("%j → %s", (text, hash) => {
    expect(fingerprint(text)).toBe(hash);
  });

  it("32 hex digits; every character and its position count", () => {
    const texts = ["a", "b", "ab", "ba", "abcdefghij", "abcdefghik", "bacdefghij", "x".repeat(1000)];
    const prints = texts.map(fingerprint);
    for (const p of prints) expect(p).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(prints).size).toBe(texts.length);
  });
});
