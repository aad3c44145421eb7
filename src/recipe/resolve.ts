// Resolving a recipe's images exactly as `abra app deploy` will: the app env map (not the process
// environment) as the only variable source, COMPOSE_FILE's files merged in order, interpolated and
// merged by docker/cli's own compose loader through `docker stack config` (the code behind
// `docker stack deploy`; compose-go differs on nesting, `:+` and env precedence, REFERENCE §1).
//
// The order is abra's: choose the recipe version (src/recipe/version.ts: --chaos, --ref, the pin in
// the app .env), read that version's files and abra.sh through git without touching the checkout,
// merge abra.sh's exports over the app env (src/recipe/abraSh.ts), then COMPOSE_FILE and the loader.
//
// `docker stack config` is a pure function of the files and the variables, so its answer is cached
// by a hash of both (and of the docker client binary): a warm prepull spawns nothing. A version read
// from git is cached under its object id, found from git's ref files without running git.

import { existsSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { dockerArgs } from "../docker/cli.js";
import { InputError, ToolError } from "../errors.js";
import { run } from "../exec.js";
import { logger } from "../log.js";
import type { VersionSource } from "../model/use.js";
import { parseReference } from "../model/reference.js";
import { writeFileAtomic } from "../state/atomic.js";
import { ensureSharedDir } from "../state/dirs.js";
import { which } from "../util/which.js";
import { abraShVars, parseAbraSh } from "./abraSh.js";
import { type AppEnv, deployEnv, readAppEnv, recipeName } from "./appEnv.js";
import { checkComposeFiles, composeFileList } from "./composeFiles.js";
import { checkExecEnv } from "./envLimits.js";
import { existsAtRef, materializeAtRef, readAtRevision } from "./gitRef.js";
import { parsePin } from "./pin.js";
import {
  chooseVersion,
  describeVersion,
  type LocatedVersion,
  locateVersion,
  reportedVersion,
} from "./version.js";

export interface ServiceImage {
  ref: string;
  service: string;
  /** The compose file (relative to the recipe) whose `image:` the merge kept. */
  file: string;
}

export interface Resolution {
  recipe: string;
  recipeDir: string;
  /** The --ref given, else null. */
  gitRef: string | null;
  /**
   * The recipe version resolved: the pinned version or --ref; for the working tree (--chaos, or no
   * pin) HEAD's short commit when the recipe is a git checkout, else null.
   */
  version: string | null;
  versionSource: VersionSource;
  /** The git object the files were read from (a tag or commit id); null: the working tree. */
  revision: string | null;
  /** One line for a person about the version; `notice` when it may not be the one abra deploys. */
  versionNote: { text: string; notice: boolean };
  files: string[];
  env: AppEnv;
  /** One entry per service, sorted by service. */
  services: ServiceImage[];
}

export interface ResolveOptions {
  recipeDir: string;
  envFile: string | undefined;
  /** --ref: a version (tag, branch, commit) read from git; overrides the pin. */
  gitRef: string | undefined;
  /** --chaos: the working tree as it is, whatever the pin says. */
  chaos?: boolean;
  set: Record<string, string>;
  docker: string;
  /** Where the resolution cache lives; undefined disables it. */
  cacheDir: string | undefined;
  signal?: AbortSignal;
}

/** The version a deploy of this app would use, found but not read yet (no docker involved). */
export interface VersionSelection {
  recipe: string;
  recipeDir: string;
  /** The .env layer: the app .env and --set, before abra.sh. */
  base: AppEnv;
  located: LocatedVersion;
}

// The cache holds the final answer (merged, attributed, validated), so a warm run loads neither
// the YAML parser nor docker. For a version read from git the answer is keyed by the git object
// (immutable) and the .env layer, and also holds the compose files and abra.sh exports, so a warm
// run needs no git either.
const cacheSchema = z.object({
  /** Everything the answer depends on, compared in full on read: the file name is only a hash. */
  input: z.string(),
  services: z.array(z.object({ ref: z.string(), service: z.string(), file: z.string() })),
  files: z.array(z.string()).optional(),
  abraSh: z.record(z.string(), z.string()).nullable().optional(),
});
type CacheEntry = z.output<typeof cacheSchema>;

const ABRA_SH = "abra.sh";

export type VersionOptions = Pick<
  ResolveOptions,
  "recipeDir" | "envFile" | "gitRef" | "chaos" | "set" | "signal"
>;

/** Steps 1–2 of a resolution: the .env layer, the pin, and where the chosen version is. */
export async function selectVersion(o: VersionOptions): Promise<VersionSelection> {
  const recipeDir = path.resolve(o.recipeDir);
  if (!existsSync(recipeDir) || !statSync(recipeDir).isDirectory()) {
    throw new InputError("usage", `the recipe directory ${recipeDir} does not exist`, {
      hint: "Pass --recipe with the path of the recipe's checkout (e.g. ~/.abra/recipes/NAME).",
    });
  }
  const base = readAppEnv({ envFile: o.envFile, set: o.set });
  const pin = parsePin(base.vars, { file: base.file, lines: base.lines, fromSet: base.overridden });
  const choice = chooseVersion({ chaos: o.chaos ?? false, ref: o.gitRef, pin });
  const located = await locateVersion(recipeDir, choice, o.signal);
  return { recipe: recipeName(base.vars, recipeDir), recipeDir, base, located };
}

/** The deploy's variables for a selection: abra.sh of that version merged over the .env layer. */
export async function readDeployEnv(sel: VersionSelection, signal?: AbortSignal): Promise<AppEnv> {
  const { located, recipeDir } = sel;
  if (located.oid === null) {
    const file = path.join(recipeDir, ABRA_SH);
    const text = existsSync(file) ? readFileSync(file, "utf8") : undefined;
    return withAbraSh(sel.base, text, file, ABRA_SH);
  }
  const text = await readAtRevision(recipeDir, located.oid, ABRA_SH, signal);
  const where = `${ABRA_SH} at ${located.version}`;
  return withAbraSh(sel.base, text, `${path.join(recipeDir, ABRA_SH)} at ${located.version}`, where);
}

function withAbraSh(base: AppEnv, text: string | undefined, file: string, source: string): AppEnv {
  if (text === undefined) return deployEnv(base);
  return deployEnv(base, { source, vars: abraShVars(parseAbraSh(text, file)) });
}

export async function resolveRecipe(o: ResolveOptions): Promise<Resolution> {
  const sel = await selectVersion(o);
  const { located, recipeDir } = sel;
  const finish = (env: AppEnv, files: string[], services: ServiceImage[]): Resolution => ({
    recipe: sel.recipe,
    recipeDir,
    gitRef: o.gitRef ?? null,
    version: reportedVersion(located),
    versionSource: located.source,
    revision: located.oid,
    versionNote: describeVersion(sel.recipe, recipeDir, located),
    files,
    env,
    services,
  });
  const dockerPath = which(o.docker);
  const dockerId = () => {
    const st = statSync(dockerPath!, { throwIfNoEntry: false });
    return [dockerPath, st?.size, st?.mtimeMs];
  };

  if (located.oid === null) {
    const env = await readDeployEnv(sel, o.signal);
    const files = composeFileList(env.vars);
    checkComposeFiles(files, recipeDir, (f) => existsSync(path.join(recipeDir, f)), env.file);
    const contents = new Map(files.map((f) => [f, readFileSync(path.join(recipeDir, f), "utf8")]));
    const input =
      o.cacheDir && dockerPath
        ? JSON.stringify([
            ...dockerId(),
            files,
            files.map((f) => contents.get(f)),
            Object.entries(env.vars).sort(),
          ])
        : undefined;
    const hit = input ? readCache(o.cacheDir!, input) : undefined;
    if (hit) return finish(env, files, hit.services);
    const services = await resolveServices(o, dockerPath, recipeDir, files, contents, env);
    if (input) writeCache(o.cacheDir!, { input, services });
    return finish(env, files, services);
  }

  // A version from git: the object id names its files and abra.sh for good.
  const rev = located.oid;
  const input =
    o.cacheDir && dockerPath
      ? // Stryker disable next-line StringLiteral: the 4th element is the files array in the working tree's key, a string here: the keys cannot meet whatever the string
        JSON.stringify([...dockerId(), "git", rev, Object.entries(sel.base.vars).sort()])
      : undefined;
  const hit = input ? readCache(o.cacheDir!, input) : undefined;
  if (hit?.files) {
    const env = deployEnv(
      sel.base,
      hit.abraSh ? { source: `${ABRA_SH} at ${located.version}`, vars: hit.abraSh } : undefined,
    );
    return finish(env, hit.files, hit.services);
  }
  const env = await readDeployEnv(sel, o.signal);
  const files = composeFileList(env.vars);
  const present = await Promise.all(files.map((f) => existsAtRef(recipeDir, rev, f, o.signal)));
  checkComposeFiles(
    files,
    recipeDir,
    (f) => present[files.indexOf(f)] === true,
    env.file,
    `${recipeDir} at ${located.version}`,
  );
  const m = await materializeAtRef(recipeDir, rev, files, o.signal);
  try {
    const services = await resolveServices(o, dockerPath, m.dir, files, m.contents, env);
    if (input) writeCache(o.cacheDir!, { input, services, files, abraSh: env.abraSh?.vars ?? null });
    return finish(env, files, services);
  } finally {
    rmSync(m.dir, {
      recursive: true,
      // Stryker disable next-line BooleanLiteral: the directory was just made by materializeAtRef; force only matters when it is missing
      force: true,
    });
  }
}

type Merged = { service: string; image: string | null }[];

async function resolveServices(
  o: ResolveOptions,
  dockerPath: string | undefined,
  workDir: string,
  files: string[],
  contents: Map<string, string>,
  env: AppEnv,
): Promise<ServiceImage[]> {
  checkExecEnv(env, dockerPath ?? o.docker, dockerArgs.stackConfig(files)); // E2BIG is bad input
  // By absolute path: the child gets no PATH (only the app env), and must be the client we hashed.
  const r = await run(dockerPath ?? o.docker, dockerArgs.stackConfig(files), {
    cwd: workDir,
    // Only the app env: the deploy interpolates with nothing else (docs/prepull.md).
    env: env.vars,
    replaceEnv: true,
    timeoutMs: 60_000,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  // Cancelled (SIGINT/SIGTERM): the interrupt, not a compose error made of an empty stderr.
  o.signal?.throwIfAborted();
  if (r.exitCode !== 0) throw await stackConfigError(r.stderr, files, contents, env, o.docker);
  const YAML = await import("yaml");
  let doc: unknown;
  try {
    doc = YAML.parse(r.stdout);
  } catch (e) {
    throw new ToolError(`could not read the output of '${o.docker} stack config': ${(e as Error).message}`);
  }
  const parsed = z
    .object({
      services: z.record(z.string(), z.looseObject({ image: z.string().optional() }).nullable()).optional(),
    })
    .safeParse(doc);
  if (!parsed.success)
    throw new ToolError(`unexpected output from '${o.docker} stack config': ${parsed.error.message}`);
  const merged: Merged = Object.entries(parsed.data.services ?? {})
    .map(([service, s]) => ({ service, image: s?.image ?? null }))
    .sort((a, b) => a.service.localeCompare(b.service));
  return attribute(merged, files, contents, env);
}

/**
 * A non-cryptographic fingerprint (four FNV-1a-style 32-bit lanes) naming the cache file. Not
 * node:crypto: loading it costs a warm prepull more than all of its own work. A collision can only
 * cost a cache miss: each entry keeps its whole input, compared in full on read.
 */
export function fingerprint(text: string): string {
  const seeds = [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b];
  return seeds
    .map((seed) => {
      let h = seed >>> 0;
      for (let i = 0; i < text.length; i++) {
        h ^= text.charCodeAt(i) + ((seed >>> (i & 7)) & 0xff);
        h = Math.imul(h, 0x01000193) >>> 0;
      }
      return h.toString(16).padStart(8, "0");
    })
    .join("");
}

function readCache(dir: string, input: string): CacheEntry | undefined {
  const key = fingerprint(input);
  try {
    const r = cacheSchema.safeParse(JSON.parse(readFileSync(path.join(dir, `${key}.json`), "utf8")));
    if (!r.success || r.data.input !== input) return undefined;
    logger().debug({ key }, "resolution cache hit");
    return r.data;
    // Stryker disable next-line BlockStatement: an empty catch also returns undefined
  } catch {
    return undefined;
  }
}

const CACHE_ENTRIES = 256;

function writeCache(dir: string, entry: CacheEntry): void {
  const key = fingerprint(entry.input);
  try {
    ensureSharedDir(dir);
    // Stryker disable next-line ObjectLiteral: fsync or not, the same file is there afterwards (a lost entry only costs speed)
    writeFileAtomic(path.join(dir, `${key}.json`), JSON.stringify(entry), 0o664, {
      // Stryker disable next-line BooleanLiteral: as above
      fsync: false,
    });
    const names = readdirSync(dir).filter((n) => n.endsWith(".json"));
    if (names.length > CACHE_ENTRIES) {
      const byAge = names
        .map((n) => ({ n, t: statSync(path.join(dir, n)).mtimeMs }))
        .sort((a, b) => a.t - b.t);
      for (const { n } of byAge.slice(0, names.length - CACHE_ENTRIES)) unlinkSync(path.join(dir, n));
    }
    // Stryker disable next-line BlockStatement: the block only logs (at debug level)
  } catch (e) {
    // A cache that cannot be written only costs speed.
    logger().debug({ err: (e as Error).message, dir }, "resolution cache not written");
  }
}

/** Which file's `image:` did the merge keep for each service? The last file that sets it. */
async function attribute(
  merged: Merged,
  files: string[],
  contents: Map<string, string>,
  env: AppEnv,
): Promise<ServiceImage[]> {
  const YAML = await import("yaml");
  const setsImage = new Map<string, string>();
  for (const f of files) {
    let doc: unknown;
    try {
      // Stryker disable next-line StringLiteral: contents holds every file of `files`: the fallback is never read
      doc = YAML.parse(contents.get(f) ?? "");
      // Stryker disable next-line BlockStatement: without the continue, doc stays undefined and the loop below sees no services
    } catch {
      continue; // docker accepted it; our parser's view of a quirk is not worth failing over
    }
    const services =
      (doc as { services?: Record<string, { image?: unknown } | null> } | null)?.services ?? {};
    for (const [name, svc] of Object.entries(services))
      if (svc && svc.image !== undefined) setsImage.set(name, f);
  }
  const out: ServiceImage[] = [];
  for (const m of merged) {
    const file = setsImage.get(m.service) ?? files[0]!;
    if (m.image === null || m.image === "") {
      throw new InputError(
        "compose",
        `service "${m.service}" has no image after merging ${files.join(", ")}`,
        {
          ...(env.file ? { file: env.file } : {}),
          hint: `Give services.${m.service}.image in a compose file (swarm stacks cannot build), or set the variable it uses in the app .env.`,
        },
      );
    }
    const p = parseReference(m.image);
    if (!p.ok) {
      // Stryker disable next-line StringLiteral: `file` is one of `files`, all in contents: the fallback is never read
      const vars = [...(contents.get(file) ?? "").matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map(
        (x) => x[1]!,
      );
      const suspects = [...new Set(vars)].filter((v) => !env.vars[v]);
      throw new InputError(
        "reference",
        `service "${m.service}" in ${file} resolves to a bad image reference: ${p.reason}`,
        {
          file,
          hint: suspects.length
            ? `Set ${suspects.join(" or ")} in the app .env${env.file ? ` (${env.file})` : ""} or with --set KEY=VALUE.`
            : `Fix services.${m.service}.image in ${file}.`,
        },
      );
    }
    out.push({ ref: m.image, service: m.service, file });
  }
  return out;
}

async function stackConfigError(
  stderr: string,
  files: string[],
  contents: Map<string, string>,
  env: AppEnv,
  docker: string,
): Promise<Error> {
  const text = stderr.trim();
  if (/unknown (command|flag)|is not a docker command|Usage:\s+docker stack \[OPTIONS\]/i.test(text)) {
    return new ToolError(
      `the docker client '${docker}' has no 'docker stack config' (it needs docker CLI 23 or later)`,
      {
        hint: 'Install a newer docker client, or point the config key "docker" (or IMAGEKEEPER_DOCKER) at one.',
      },
    );
  }
  const required = /required variable (\w+) is missing a value(?::\s*([^"\n]*))?/.exec(text);
  if (required) {
    const name = required[1]!;
    const inFiles = files.filter((f) =>
      new RegExp(`\\$\\{${name}[:?]`).test(
        // Stryker disable next-line StringLiteral: contents holds every file of `files`: the fallback is never read
        contents.get(f) ?? "",
      ),
    );
    const where = /invalid interpolation format for ([^\s:]+)/.exec(text)?.[1];
    return new InputError(
      "interpolation",
      `required variable ${name} is missing a value${required[2] ? ` ("${required[2].trim()}")` : ""}, used by ${where ?? "the compose files"} in ${inFiles.join(", ") || files.join(", ")}`,
      {
        file: inFiles[0] ?? files[0]!,
        hint: `Set ${name} in the app .env${env.file ? ` (${env.file})` : ""}, or pass --set ${name}=VALUE.`,
      },
    );
  }
  const interp = /invalid interpolation format for ([^\s:]+)/.exec(text);
  if (interp) {
    return new InputError(
      "interpolation",
      `bad variable syntax in ${interp[1]} (${files.join(", ")}): ${text}`,
      {
        file: files[0]!,
        hint: "Write variables as $VAR, ${VAR}, ${VAR:-default} or ${VAR:?message}; write a literal $ as $$.",
      },
    );
  }
  const yamlErr = /^yaml: (.*)$/m.exec(text);
  if (yamlErr) {
    // docker does not say which file: parse each one to find it.
    const YAML = await import("yaml");
    const bad = files.find((f) =>
      // Stryker disable next-line StringLiteral: contents holds every file of `files`: the fallback is never read
      YAML.parseAllDocuments(contents.get(f) ?? "").some((d) => d.errors.length > 0),
    );
    return new InputError("compose", `${bad ?? files.join(", ")} is not valid YAML: ${yamlErr[1]}`, {
      file: bad ?? files[0]!,
      hint: "Fix the YAML syntax at the line shown (indent with spaces, close brackets and quotes).",
    });
  }
  return new InputError(
    "compose",
    `docker could not load the compose files ${files.join(", ")}: ${text.split("\n")[0]}`,
    {
      file: files[0]!,
      hint: "Check the files with 'docker stack config -c FILE…' using the app's variables; all files must declare the same version.",
    },
  );
}
