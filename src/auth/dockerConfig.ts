// The docker client's config.json: where it is, reading it without trusting it, adding one
// registry's credential, and writing it back atomically with the modes docker itself uses (dir
// 0700, file 0600). Everything we do not own (other registries, credsStore, proxies, aliases,
// unknown keys) is carried over untouched.
// Format: https://github.com/docker/cli/blob/master/cli/config/configfile/file.go
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "../state/atomic.js";
import { type RegistryTarget, sameRegistry } from "./registry.js";

// Loose on purpose: docker adds keys over time and other tools (buildx, compose, scout) add their
// own. We check only the shapes we read or write, so a damaged file is caught before we rewrite it.
const dockerConfigSchema = z.looseObject({
  auths: z
    .record(
      z.string(),
      z.looseObject({
        auth: z.string().optional(),
        // Older clients wrote the two halves; some registries hand out an OAuth2 refresh token.
        username: z.string().optional(),
        password: z.string().optional(),
        identitytoken: z.string().optional(),
      }),
    )
    .optional(),
  credsStore: z.string().optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
});
export type DockerConfig = z.output<typeof dockerConfigSchema>;

/** `--docker-config DIR`, else $DOCKER_CONFIG, else ~/.docker: the client's own lookup order. */
export function dockerConfigDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return path.resolve(flag);
  if (env.DOCKER_CONFIG) return path.resolve(env.DOCKER_CONFIG);
  return path.join(env.HOME || homedir(), ".docker");
}

const FIX_DAMAGED =
  "Repair it (it must be a JSON object, see `docker login`), or move it aside to start a new one; nothing was written.";

/**
 * The config as it is on disk, or `{}` when there is none (docker treats an empty file the same).
 * Parse errors name the position only: V8's messages quote the text around the error, and this
 * file holds other registries' credentials.
 */
export function readDockerConfig(file: string): DockerConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new InputError(
      "credentials",
      `cannot read the docker config ${file}: ${(e as NodeJS.ErrnoException).code}`,
      {
        file,
        hint: "Run as the user who owns it, or point --docker-config at a directory you can write.",
      },
    );
  }
  if (text.trim() === "") return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const at = /at position (\d+)/.exec((e as Error).message)?.[1];
    throw new InputError(
      "credentials",
      `the docker config ${file} is not valid JSON${at === undefined ? "" : ` (at byte ${at})`}`,
      { file, hint: FIX_DAMAGED },
    );
  }
  const r = dockerConfigSchema.safeParse(raw);
  if (!r.success) {
    const where = r.error.issues.map((i) => (i.path.length ? i.path.join(".") : "(top level)")).join(", ");
    throw new InputError(
      "credentials",
      `the docker config ${file} is damaged: unexpected value at ${where}`,
      {
        file,
        hint: FIX_DAMAGED,
      },
    );
  }
  return r.data;
}

/**
 * The config with `target`'s entry replaced by `user:secret`. The whole entry is replaced, not
 * merged: a stale `identitytoken` left beside the new `auth` would win over it in the client.
 */
export function withCredential(
  config: DockerConfig,
  target: RegistryTarget,
  username: string,
  secret: string,
): DockerConfig {
  const auth = Buffer.from(`${username}:${secret}`, "utf8").toString("base64");
  return { ...config, auths: { ...config.auths, [target.key]: { auth } } };
}

/**
 * Why the entry we write may not be what docker uses: a credential helper for that registry, or a
 * credsStore (which then serves every registry), is asked before `auths`.
 */
export function credentialOverrides(config: DockerConfig, target: RegistryTarget): string[] {
  const out: string[] = [];
  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    if (sameRegistry(key, target))
      out.push(
        `credHelpers["${key}"] = "${helper}": docker asks docker-credential-${helper} for ${target.key}, not auths`,
      );
  }
  if (config.credsStore)
    out.push(
      `credsStore = "${config.credsStore}": docker asks docker-credential-${config.credsStore}, not auths`,
    );
  return out;
}

export interface WriteResult {
  file: string;
  /** The directory existed with group or other permissions and was narrowed to 0700. */
  tightenedDir: boolean;
}

/** Write `config` to DIR/config.json: dir 0700, file 0600, replaced atomically. */
export function writeDockerConfig(dir: string, config: DockerConfig): WriteResult {
  const file = path.join(dir, "config.json");
  const link = symlinkTarget(file);
  if (link !== undefined) {
    // An atomic rename would replace the link with a file, silently detaching whatever manages it
    // (home-manager links config.json into the store, where it cannot be written anyway).
    throw new InputError("credentials", `the docker config ${file} is a symlink to ${link}`, {
      file,
      hint: "Manage the credential where the link points, or use --docker-config with a directory of its own; nothing was written.",
    });
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dirStat = statSync(dir);
  const tightenedDir = (dirStat.mode & 0o077) !== 0;
  if (tightenedDir) chmodSync(dir, 0o700);
  // Docker indents with tabs; keeping its layout keeps diffs of the file readable.
  writeFileAtomic(file, `${JSON.stringify(config, null, "\t")}\n`, 0o600);
  // The mode given at creation passes through the umask; make it exact.
  chmodSync(file, 0o600);
  // root writing another user's config (sudo, a system unit): the file must stay theirs, or their
  // docker client can no longer read it.
  if (process.getuid?.() === 0 && dirStat.uid !== 0) chownSync(file, dirStat.uid, dirStat.gid);
  return { file, tightenedDir };
}

function symlinkTarget(file: string): string | undefined {
  try {
    return lstatSync(file).isSymbolicLink() ? readlinkSync(file) : undefined;
  } /* Stryker disable next-line BlockStatement: an empty catch returns undefined too */ catch {
    return undefined;
  }
}
