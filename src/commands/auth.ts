// `imagekeeper auth login`: write one registry credential into a docker client config, so that
// every `docker pull` by that user (prepull, the deploy) is authenticated — on Docker Hub that is
// the difference between the per-IP anonymous quota and the account's. The NixOS module runs it
// at boot for each runner user, from a LoadCredential file (docs/nixos.md).
import path from "node:path";
import { z } from "zod";
import {
  credentialOverrides,
  dockerConfigDir,
  readDockerConfig,
  withCredential,
  writeDockerConfig,
} from "../auth/dockerConfig.js";
import { resolveRegistry } from "../auth/registry.js";
import { readSecret } from "../auth/secret.js";
import { verifyCredentials } from "../auth/verify.js";
import { InputError } from "../errors.js";
import { logger } from "../log.js";
import { parseFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

const flags = z.looseObject({
  registry: z.string({ error: "is required" }).min(1, "is required"),
  username: z
    .string({ error: "is required" })
    .min(1, "is required")
    // docker splits the stored "user:token" at the first colon.
    .refine((u) => !/[:\s]/.test(u), "must not contain a colon or whitespace"),
  "password-file": z.string({ error: "is required (a file holding the token, or - for stdin)" }).min(1),
  "docker-config": z.string().min(1).optional(),
  verify: z.boolean().optional(),
});

export const authLoginCommand: CommandSpec = {
  name: "auth login",
  summary: "write a registry credential into a Docker client config",
  help: `Usage: imagekeeper auth login --registry R --username U --password-file F [--docker-config DIR] [--verify]

Adds or replaces registry R's entry in DIR/config.json (default $DOCKER_CONFIG, else ~/.docker),
as \`docker login\` would, without a docker daemon: the file is replaced atomically, the directory
is 0700 and the file 0600, and every other entry and key is kept.

  --registry R        host[:port]; docker.io (or index.docker.io, registry-1.docker.io) is Docker Hub
  --username U        the account name
  --password-file F   file holding the password or access token (one line), or - to read stdin.
                      The token is never accepted on the command line or from the environment.
  --docker-config DIR the docker client config directory to write
  --verify            check the credentials against the registry first; rejected → exit 2, nothing written
  --json              print {ok, registry, username, file, verified: accepted|anonymous|null}

Docker asks a credential helper (credHelpers, credsStore) before auths: a warning says so when the
config has one for R. Nothing is written on error.

Exit status:
  0        written
  2        bad input (usage, bad config), a damaged config.json, or credentials the registry
           rejected
  70       the registry could not be reached for --verify; an internal error
  130/143  interrupted by SIGINT/SIGTERM`,
  options: {
    registry: { type: "string" },
    username: { type: "string" },
    "password-file": { type: "string" },
    "docker-config": { type: "string" },
    verify: { type: "boolean" },
    // Declared only to refuse it with a useful message (a secret on argv shows in ps and history).
    password: { type: "string", hidden: true },
  },
  async run(ctx, values) {
    if (values.password !== undefined) {
      throw new InputError("usage", "imagekeeper auth login takes no --password", {
        hint: "A password on the command line shows in ps and shell history: put it in a file and pass --password-file FILE (or - for stdin).",
      });
    }
    const f = parseFlags("auth login", flags, values);
    const target = resolveRegistry(f.registry);
    const secret = readSecret(f["password-file"]);
    for (const w of secret.warnings) logger().warn(w);

    const dir = dockerConfigDir(f["docker-config"], ctx.env);
    const before = readDockerConfig(path.join(dir, "config.json"));
    for (const why of credentialOverrides(before, target))
      logger().warn({ registry: target.key }, `the credential is written, but ${why}`);

    let verified: "accepted" | "anonymous" | null = null;
    if (f.verify) {
      const outcome = await verifyCredentials(target, f.username, secret.value, { signal: ctx.signal });
      verified = outcome === "anonymous" ? "anonymous" : "accepted";
      if (outcome === "anonymous")
        logger().warn(
          { registry: target.key },
          "the registry allows anonymous access to /v2/: the credentials could not be checked",
        );
      else
        logger().info(
          { registry: target.key, username: f.username },
          "the registry accepted the credentials",
        );
    }

    const { file, tightenedDir } = writeDockerConfig(
      dir,
      withCredential(before, target, f.username, secret.value),
    );
    if (tightenedDir)
      logger().warn({ dir }, "the docker config directory was readable by others: set to 0700");
    logger().info({ registry: target.key, username: f.username, file }, "credential written");
    ctx.out(
      ctx.json
        ? `${JSON.stringify({ ok: true, registry: target.key, username: f.username, file, verified })}\n`
        : `wrote ${target.key} credentials for ${f.username} to ${file}\n`,
    );
    return { kind: "ok" };
  },
};
