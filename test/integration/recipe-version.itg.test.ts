// The recipe version abra would deploy, end to end through the real CLI: a real recipe repository
// made here, with release tags whose compose files name different images and whose abra.sh
// exports differ, and a working tree ahead of the tags with uncommitted changes. The pin in the
// app .env is resolved by default, the working tree with --chaos, another version with --ref, and
// the checkout is never touched. One prepull against the testbed registry shows that the pinned
// version's image is the one pulled.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepullReportSchema } from "../../src/pull/report.js";
import { ledgerSchema } from "../../src/state/ledger.js";
import { cli } from "../support/cli.js";
import { type Daemon, pushImage, type Registry, startDaemon, startRegistry } from "../support/testbed.js";

const state = () => ({ IMAGEKEEPER_STATE_DIR: mkdtempSync(path.join(tmpdir(), "ikstate-")) });

/** git as a test runs it: never refreshing the index (so the index's mtime shows what imagekeeper did). */
function git(dir: string, ...args: string[]): string {
  return execFileSync(
    "git",
    ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "tag.gpgSign=false", ...args],
    { env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" } },
  ).toString();
}

const compose = (lines: Record<string, string>) =>
  `version: "3.8"\nservices:\n${Object.entries(lines)
    .map(([k, v]) => `  ${k}:\n    image: ${v}\n`)
    .join("")}`;

// Each version names different images; the worker's tag comes from abra.sh (`:?` makes the
// compose file fail without it, as "required variable missing").
const worker = (image: string) => `${image}:\${WORKER_TAG:?exported by abra.sh}`;
const V1 = "1.0.0+1.25.3";
const V2 = "2.0.0+1.27.1";

interface Repo {
  dir: string;
  head: string;
  v1: string;
}

/** A recipe repository: two releases, a commit after them, and uncommitted changes on top. */
function makeRecipe(app = "nginx", workerImage = "busybox"): Repo {
  const WORKER = worker(workerImage);
  const dir = mkdtempSync(path.join(tmpdir(), "ikrecipe-"));
  git(dir, "init", "-q", "-b", "main");
  const commit = (files: Record<string, string>, msg: string) => {
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
    git(dir, "add", ".");
    git(dir, "commit", "-qm", msg);
  };
  commit(
    {
      "compose.yml": compose({ app: `${app}:1.25.3`, worker: WORKER }),
      "abra.sh":
        "#!/bin/bash\nexport WORKER_TAG=1.36.0\nexport CONF_VERSION=v1\n\nbackup() {\n  export WORKER_TAG=9.9.9\n}\n",
      ".env.sample": "TYPE=demo\n",
    },
    "v1",
  );
  git(dir, "tag", V1);
  const v1 = git(dir, "rev-parse", "HEAD").trim();
  commit(
    {
      "compose.yml": compose({ app: `${app}:1.27.1`, worker: WORKER }),
      "compose.redis.yml": compose({ redis: "redis:7.2" }),
      "abra.sh": "export WORKER_TAG=1.36.1\nexport CONF_VERSION=v2\n",
    },
    "v2",
  );
  // An annotated tag: its ref names a tag object, not the commit.
  git(dir, "tag", "-a", "-m", "release 2", V2);
  commit(
    {
      "compose.yml": compose({ app: `${app}:1.27.2`, worker: WORKER }),
      "abra.sh": "export WORKER_TAG=1.37.0\n",
    },
    "next",
  );
  const head = git(dir, "rev-parse", "HEAD").trim();
  // The working tree: ahead of HEAD, uncommitted, and an untracked file.
  writeFileSync(path.join(dir, "compose.yml"), compose({ app: `${app}:1.28.0`, worker: WORKER }));
  writeFileSync(path.join(dir, "abra.sh"), "export WORKER_TAG=1.37.1\n");
  writeFileSync(path.join(dir, "notes.txt"), "untracked\n");
  return { dir, head, v1 };
}

/** Everything a person or abra could see of the checkout, to compare before and after. */
function snapshot(dir: string) {
  const mtimes: Record<string, number> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = path.join(rel, e.name);
      if (p === ".git") continue; // compared through git: HEAD, status, diff, the index's mtime
      if (e.isDirectory()) walk(p);
      else mtimes[p] = statSync(path.join(dir, p)).mtimeMs;
    }
  };
  walk("");
  return {
    head: git(dir, "rev-parse", "HEAD"),
    branch: git(dir, "symbolic-ref", "HEAD"),
    status: git(dir, "status", "--porcelain", "--untracked-files=all"),
    diff: git(dir, "diff"),
    mtimes,
    index: statSync(path.join(dir, ".git/index")).mtimeMs,
  };
}

function appEnv(text: string): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), "ikenv-")), "demo.example.org.env");
  writeFileSync(f, text);
  return f;
}

describe("which version: pin, --chaos, --ref", () => {
  let r: Repo;
  let before: ReturnType<typeof snapshot>;
  let env: string;
  beforeAll(() => {
    r = makeRecipe();
    before = snapshot(r.dir);
    env = appEnv(`TYPE=demo:${V1}\nDOMAIN=demo.example.org\n`);
  });

  it("resolves the version pinned in the app .env by default, not the checkout", async () => {
    const res = await cli(["images", "--recipe", r.dir, "--env-file", env], state());
    expect(res.code).toBe(0);
    expect(res.stdout).toBe("busybox:1.36.0\nnginx:1.25.3\n");
    expect(res.stderr).toContain(`recipe demo version ${V1}, pinned by TYPE in ${env} line 1`);
    const json = JSON.parse(
      (await cli(["images", "--recipe", r.dir, "--env-file", env, "--json"], state())).stdout,
    );
    expect(json).toMatchObject({ recipe: "demo", ref: null, version: V1, versionSource: "pinned" });
  });

  it("--chaos resolves the working tree as it is, uncommitted abra.sh included", async () => {
    const res = await cli(["images", "--recipe", r.dir, "--env-file", env, "--chaos", "--json"], state());
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout);
    expect(json.images.map((i: { ref: string }) => i.ref)).toEqual(["busybox:1.37.1", "nginx:1.28.0"]);
    expect(json).toMatchObject({ version: r.head.slice(0, 8), versionSource: "chaos" });
    expect(res.stderr).toMatch(/--chaos.*the pin demo:1\.0\.0\+1\.25\.3 .* is not used/);
  });

  it("--ref overrides the pin (an annotated tag), with that version's abra.sh and compose files", async () => {
    const res = await cli(
      [
        "images",
        "--recipe",
        r.dir,
        "--env-file",
        env,
        "--ref",
        V2,
        "--set",
        "COMPOSE_FILE=compose.yml:compose.redis.yml",
        "--json",
      ],
      state(),
    );
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout);
    expect(json.images.map((i: { ref: string }) => i.ref)).toEqual([
      "busybox:1.36.1",
      "nginx:1.27.1",
      "redis:7.2",
    ]);
    expect(json).toMatchObject({ ref: V2, version: V2, versionSource: "ref" });
  });

  it("a commit id pinned by a --chaos deploy resolves that commit", async () => {
    const e = appEnv(`TYPE=demo:${r.head.slice(0, 8)}\n`);
    const res = await cli(["images", "--recipe", r.dir, "--env-file", e, "--json"], state());
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout);
    expect(json.images.map((i: { ref: string }) => i.ref)).toEqual(["busybox:1.37.0", "nginx:1.27.2"]);
    expect(json.versionSource).toBe("pinned");
  });

  it("a warm run of a pinned version answers from the cache without running git or docker", async () => {
    const st = state();
    const e = appEnv(`TYPE=demo:${V2}\n`);
    const cold = await cli(["images", "--recipe", r.dir, "--env-file", e, "--log-level", "debug"], st);
    expect(cold.stdout).toBe("busybox:1.36.1\nnginx:1.27.1\n");
    expect(cold.stderr).toMatch(/ exec {2}argv=git,/);
    git(r.dir, "pack-refs", "--all"); // the tag now lives in packed-refs: the reader must find it there too
    const warm = await cli(["images", "--recipe", r.dir, "--env-file", e, "--log-level", "debug"], st);
    expect(warm.stdout).toBe(cold.stdout);
    expect(warm.stderr).toMatch(/resolution cache hit/);
    expect(warm.stderr).toMatch(/ debug /); // debug lines were printed, and none was a spawn
    expect(warm.stderr).not.toMatch(/ exec {2}argv=/);
    // Moving the tag (a re-release) is a new object: no stale answer.
    git(r.dir, "tag", "-f", V2, r.v1);
    const moved = await cli(["images", "--recipe", r.dir, "--env-file", e], st);
    expect(moved.stdout).toBe("busybox:1.36.0\nnginx:1.25.3\n");
    git(r.dir, "tag", "-f", "-a", "-m", "release 2", V2, `${r.head}~1`);
  });

  it("env --recipe shows the deploy's variables: abra.sh of the resolved version merged in", async () => {
    const res = await cli(["env", "--recipe", r.dir, "--env-file", env, "--json"], state());
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout);
    expect(json).toMatchObject({ recipe: "demo", version: V1, versionSource: "pinned" });
    expect(json.abraSh).toEqual({ source: `abra.sh at ${V1}`, keys: ["CONF_VERSION", "WORKER_TAG"] });
    expect(json.vars).toMatchObject({
      WORKER_TAG: "1.36.0",
      CONF_VERSION: "v1",
      STACK_NAME: "demo_example_org",
    });
    const chaos = JSON.parse(
      (await cli(["env", "--recipe", r.dir, "--env-file", env, "--chaos", "--json"], state())).stdout,
    );
    expect(chaos.vars.WORKER_TAG).toBe("1.37.1");
    expect(chaos.vars.CONF_VERSION).toBeUndefined();
  });

  it("no pin: the working tree, with a notice naming the newest release and the fix", async () => {
    const e = appEnv("TYPE=demo\nDOMAIN=demo.example.org\n");
    const res = await cli(["images", "--recipe", r.dir, "--env-file", e, "--json"], state());
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout);
    expect(json).toMatchObject({ version: r.head.slice(0, 8), versionSource: "working-tree" });
    expect(json.images.map((i: { ref: string }) => i.ref)).toEqual(["busybox:1.37.1", "nginx:1.28.0"]);
    expect(res.stderr).toMatch(/^\d\d:\d\d:\d\d warn {2}/m);
    expect(res.stderr).toMatch(/pins no version \(TYPE in .* line 1 names no version\)/);
    expect(res.stderr).toContain(`newest release (${V2})`);
    expect(res.stderr).toMatch(/TYPE=demo:VERSION.*--ref VERSION.*--chaos/);
  });

  it("a pinned version that is not a tag is bad input naming the .env line and the nearest tags", async () => {
    const e = appEnv(`DOMAIN=demo.example.org\nTYPE=demo:1.0.0+1.25.4\n`);
    const res = await cli(["images", "--recipe", r.dir, "--env-file", e], state());
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toContain(
      `TYPE in ${e} line 2 pins demo:1.0.0+1.25.4, but 1.0.0+1.25.4 is not a tag in ${r.dir}`,
    );
    expect(res.stderr).toContain(`nearest tags: ${V1}, ${V2}`);
    expect(res.stderr).toMatch(/fix: .*git -C .* fetch --tags.*correct the pin/);
    const json = await cli(["prepull", "--recipe", r.dir, "--env-file", e, "--json"], state());
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error).toMatchObject({ kind: "git", file: e });
  });

  it("a pin of uncommitted chaos changes (+U) is refused without --chaos, as abra refuses it", async () => {
    const e = appEnv(`TYPE=demo:${r.head.slice(0, 8)}+U\n`);
    const res = await cli(["images", "--recipe", r.dir, "--env-file", e], state());
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/\+U, the mark abra leaves after a --chaos deploy/);
    expect((await cli(["images", "--recipe", r.dir, "--env-file", e, "--chaos"], state())).code).toBe(0);
  });

  it("--chaos with --ref is a usage error", async () => {
    const res = await cli(["images", "--recipe", r.dir, "--env-file", env, "--chaos", "--ref", V2], state());
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--chaos and --ref contradict/);
  });

  it("a pin in a directory that is not a git repository is bad input with the --chaos fix", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "iknogit-"));
    writeFileSync(path.join(dir, "compose.yml"), compose({ app: "nginx:1" }));
    const e = appEnv(`TYPE=demo:${V1}\n`);
    const res = await cli(["images", "--recipe", dir, "--env-file", e], state());
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/pins demo:1\.0\.0\+1\.25\.3, but .* is not a git repository/);
    expect(res.stderr).toMatch(/fix: .*--chaos/);
    expect((await cli(["images", "--recipe", dir, "--env-file", e, "--chaos"], state())).stdout).toBe(
      "nginx:1\n",
    );
  });

  afterAll(() => {
    // Every resolution above read versions through git: the checkout is exactly as it was.
    expect(snapshot(r.dir)).toStrictEqual(before);
  });
});

describe("abra.sh precedence, end to end", () => {
  let r: Repo;
  beforeAll(() => {
    r = makeRecipe();
  });
  // WORKER_TAG is exported by abra.sh at 1.0.0+1.25.3 as 1.36.0.
  it.each<[string, string, string[], string, RegExp | null]>([
    ["abra.sh alone provides the variable", "", [], "1.36.0", null],
    ["abra.sh wins over the app .env", "WORKER_TAG=9.9.9\n", [], "1.36.0", null],
    [
      "abra.sh wins over --set, with a warning",
      "",
      ["--set", "WORKER_TAG=8.8.8"],
      "1.36.0",
      /--set WORKER_TAG is replaced by the recipe's abra.sh export/,
    ],
  ])("%s", async (_n, extra, args, tag, warning) => {
    const e = appEnv(`TYPE=demo:${V1}\n${extra}`);
    const res = await cli(["images", "--recipe", r.dir, "--env-file", e, ...args], state());
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`busybox:${tag}\nnginx:1.25.3\n`);
    if (warning) expect(res.stderr).toMatch(warning);
    else expect(res.stderr).not.toMatch(/^\d\d:\d\d:\d\d warn {2}/m);
  });

  it("without abra.sh the same compose file fails as a required variable, as it would for abra", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "iknoabra-"));
    writeFileSync(path.join(dir, "compose.yml"), compose({ worker: worker("busybox") }));
    const res = await cli(["images", "--recipe", dir], state());
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/required variable WORKER_TAG is missing a value/);
  });

  it("an abra.sh line abra cannot parse is bad input naming the file and line", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ikbadabra-"));
    writeFileSync(path.join(dir, "compose.yml"), compose({ worker: worker("busybox") }));
    writeFileSync(path.join(dir, "abra.sh"), "export WORKER_TAG=1.36.0\nexport OPTS=a=b\n");
    const res = await cli(["images", "--recipe", dir], state());
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${path.join(dir, "abra.sh")}:2: abra cannot read this export`);
  });
});

describe("prepull of a pinned version against the testbed registry", () => {
  let reg: Registry;
  let d: Daemon;
  beforeAll(async () => {
    reg = await startRegistry();
    d = await startDaemon();
    await Promise.all([
      pushImage(reg.host, "coop/app", "1.25.3", { sizeBytes: 50_000 }),
      pushImage(reg.host, "coop/app", "1.28.0", { sizeBytes: 50_000 }),
      pushImage(reg.host, "coop/worker", "1.36.0", { sizeBytes: 50_000 }),
      pushImage(reg.host, "coop/worker", "1.37.1", { sizeBytes: 50_000 }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await d?.stop();
    await reg?.stop();
  });

  it("pulls the pinned version's images, records the version in the ledger, and leaves the checkout alone", async () => {
    const r = makeRecipe(`${reg.host}/coop/app`, `${reg.host}/coop/worker`);
    const before = snapshot(r.dir);
    const st = mkdtempSync(path.join(tmpdir(), "ikstate-"));
    const e = appEnv(`TYPE=demo:${V1}\nDOMAIN=demo.example.org\n`);
    const envs = { ...d.env, IMAGEKEEPER_STATE_DIR: st, IMAGEKEEPER_RUN_DIR: st };
    const args = ["prepull", "--recipe", r.dir, "--env-file", e, "--json"];
    const res = await cli(args, envs);
    expect(res.code).toBe(0);
    const report = prepullReportSchema.parse(JSON.parse(res.stdout));
    expect(report).toMatchObject({ recipe: "demo", version: V1, versionSource: "pinned", ref: null });
    const app = report.images.find((i) => i.service === "app")!;
    expect(app.ref).toBe(`${reg.host}/coop/app:1.25.3`);
    expect(app.action).toBe("pulled");
    // The working tree's image (1.28.0) was not pulled: only the pinned version's.
    const local = d.docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n");
    expect(local).toContain(`${reg.host}/coop/app:1.25.3`);
    expect(local).toContain(`${reg.host}/coop/worker:1.36.0`);
    expect(local).not.toContain(`${reg.host}/coop/app:1.28.0`);
    expect(local).not.toContain(`${reg.host}/coop/worker:1.37.1`);
    const ledger = ledgerSchema.parse(JSON.parse(readFileSync(path.join(st, "ledger.json"), "utf8")));
    expect(ledger.needs["demo_example_org|deploy"]).toMatchObject({
      app: "demo_example_org",
      role: "deploy",
      recipe: "demo",
      version: V1,
      versionSource: "pinned",
    });
    // --chaos pulls the working tree's image, recorded under the role the harness names.
    const chaos = await cli([...args, "--chaos", "--role", "pr"], envs);
    const cr = prepullReportSchema.parse(JSON.parse(chaos.stdout));
    expect(cr.versionSource).toBe("chaos");
    expect(chaos.code).toBe(0);
    expect(cr.images.find((i) => i.service === "worker")).toMatchObject({
      ref: `${reg.host}/coop/worker:1.37.1`,
      action: "pulled",
    });
    expect(cr.images.find((i) => i.service === "app")).toMatchObject({
      ref: `${reg.host}/coop/app:1.28.0`,
      action: "pulled",
    });
    const l2 = ledgerSchema.parse(JSON.parse(readFileSync(path.join(st, "ledger.json"), "utf8")));
    expect(l2.needs["demo_example_org|pr"]).toMatchObject({
      versionSource: "chaos",
      version: r.head.slice(0, 8),
    });
    expect(l2.needs["demo_example_org|deploy"]?.version).toBe(V1);
    expect(snapshot(r.dir)).toStrictEqual(before);
  }, 120_000);
});
