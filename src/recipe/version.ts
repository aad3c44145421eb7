// Which recipe version a deploy uses, chosen as `abra app deploy` chooses it (cli/app/deploy.go
// getDeployVersion; docs/prepull.md "Which version"):
//   --chaos                     the working tree as it is, uncommitted changes included
//   a version on the command line (our --ref)
//   the version pinned in the app .env (TYPE/RECIPE=name:version)
//   (abra: the deployed version, else the newest release tag; imagekeeper: the working tree, with
//    a notice, since it cannot see the swarm's deployed version)
// A pinned version is a tag (abra checks out refs/tags/VERSION), or a commit id: after a --chaos
// deploy abra writes the commit it deployed. It is read through git, never checked out.
import { InputError } from "../errors.js";
import type { VersionSource } from "../model/use.js";
import { checkRevision, listTagsGit, NotARepository, revParse } from "./gitRef.js";
import { gitDirs, headCommit, listTags, readNamedRef, readTag } from "./gitRefs.js";
import { describePinSource, type Pin } from "./pin.js";
import { nearestTags, newestTag } from "./tags.js";

export interface VersionChoice {
  source: VersionSource;
  /** The version or git revision to read; undefined for the working tree. */
  version: string | undefined;
  pin: Pin | undefined;
}

/** Pure: the version source from the flags and the pin (errors for combinations abra refuses). */
export function chooseVersion(o: {
  chaos: boolean;
  ref: string | undefined;
  pin: Pin | undefined;
}): VersionChoice {
  if (o.chaos && o.ref !== undefined) {
    throw new InputError("usage", "--chaos and --ref contradict each other", {
      hint: "--chaos resolves the working tree as it is; --ref VERSION resolves a version from git. Pass one.",
    });
  }
  if (o.chaos) return { source: "chaos", version: undefined, pin: o.pin };
  if (o.ref !== undefined) {
    checkRevision(o.ref, "--ref");
    return { source: "ref", version: o.ref, pin: o.pin };
  }
  if (o.pin?.version !== undefined) {
    if (o.pin.chaosDirty) {
      throw new InputError(
        "env",
        `${describePinSource(o.pin.source)} pins ${o.pin.recipe}:${o.pin.version}, the mark abra leaves after a --chaos deploy of a tree with uncommitted changes: abra redeploys that only with --chaos`,
        {
          ...(o.pin.source.file ? { file: o.pin.source.file } : {}),
          hint: `Pass --chaos (the working tree, as 'abra app deploy --chaos' takes it), --ref VERSION, or pin a release in ${o.pin.source.key}=${o.pin.recipe}:VERSION.`,
        },
      );
    }
    return { source: "pinned", version: o.pin.version, pin: o.pin };
  }
  return { source: "working-tree", version: undefined, pin: o.pin };
}

export interface LocatedVersion extends VersionChoice {
  /** The git object the files are read from (unpeeled: an annotated tag's own id); null: the working tree. */
  oid: string | null;
  /** For the working tree: HEAD's commit when the recipe is a checkout (abra labels a chaos deploy with it). */
  head: string | null;
}

/** The version a report names: the pin or --ref; HEAD's short commit for the working tree; else null. */
export function reportedVersion(loc: LocatedVersion): string | null {
  // abra labels a chaos deploy with the first 8 characters of HEAD's commit.
  return loc.version ?? loc.head?.slice(0, 8) ?? null;
}

/** A hex string git may take for a commit id (abra writes the deployed commit after --chaos). */
const COMMIT_ID = /^[0-9a-f]{4,64}$/;

/**
 * Finds the chosen version in the recipe's git history. The tag lookup reads git's ref files first
 * (no process); only a miss or an unusual repository runs git.
 */
export async function locateVersion(
  recipeDir: string,
  choice: VersionChoice,
  signal?: AbortSignal,
): Promise<LocatedVersion> {
  const dirs = gitDirs(recipeDir);
  if (choice.version === undefined) {
    const head = dirs ? (headCommit(dirs) ?? null) : null;
    return { ...choice, oid: null, head };
  }
  const v = choice.version;
  try {
    if (choice.source === "ref") {
      const fast = dirs ? readNamedRef(dirs, v) : undefined;
      const oid = fast ?? (await revParse(recipeDir, v, signal))?.oid;
      if (oid) return { ...choice, oid, head: null };
      const tags = await tagList(recipeDir, signal);
      throw new InputError("git", `--ref ${v} names no commit in ${recipeDir}${nearestText(v, tags)}`, {
        hint: `List the recipe's versions with 'git -C ${recipeDir} tag' (and 'git -C ${recipeDir} fetch --tags' if the version is new).`,
      });
    }
    // Pinned: a tag by its exact name, as abra looks it up; else a commit id.
    const fast = dirs ? readTag(dirs, v) : undefined;
    const oid =
      fast ??
      (await revParse(recipeDir, `refs/tags/${v}`, signal))?.oid ??
      (COMMIT_ID.test(v) ? (await revParse(recipeDir, v, signal))?.commit : undefined);
    if (oid) return { ...choice, oid, head: null };
    throw pinNotFound(recipeDir, choice.pin!, await tagList(recipeDir, signal));
  } catch (e) {
    if (!(e instanceof NotARepository)) throw e;
    const pin = choice.source === "pinned" ? choice.pin : undefined;
    throw new InputError(
      "git",
      pin
        ? `${describePinSource(pin.source)} pins ${pin.recipe}:${v}, but ${recipeDir} is not a git repository, so that version cannot be read`
        : `${recipeDir} is not a git repository, so --ref ${v} cannot be read`,
      {
        ...(pin?.source.file ? { file: pin.source.file } : {}),
        hint: pin
          ? "Point --recipe at the recipe's git checkout (e.g. ~/.abra/recipes/NAME), or pass --chaos to resolve the files as they are."
          : "Point --recipe at the recipe's git checkout, or drop --ref to read the working tree.",
      },
    );
  }
}

async function tagList(recipeDir: string, signal?: AbortSignal): Promise<string[]> {
  const dirs = gitDirs(recipeDir);
  return (dirs && listTags(dirs)) ?? (await listTagsGit(recipeDir, signal));
}

function nearestText(v: string, tags: string[]): string {
  if (!tags.length) return " (the repository has no tags)";
  return `; nearest tags: ${nearestTags(v, tags).join(", ")}`;
}

function pinNotFound(recipeDir: string, pin: Pin, tags: string[]): InputError {
  const where = describePinSource(pin.source);
  // All hex: it was also tried as a commit id, which git refuses when unknown or when a short id
  // names more than one commit, so say both.
  const hex = COMMIT_ID.test(pin.version!);
  return new InputError(
    "git",
    `${where} pins ${pin.recipe}:${pin.version}, but ${pin.version} is ${hex ? "neither a tag nor a unique commit id" : "not a tag"} in ${recipeDir}${nearestText(pin.version!, tags)}`,
    {
      ...(pin.source.file ? { file: pin.source.file } : {}),
      hint: `If the version is new, fetch the recipe's tags ('git -C ${recipeDir} fetch --tags'); otherwise correct the pin (${where}: ${pin.source.key}=${pin.recipe}:VERSION with VERSION one of the tags${hex ? ", or a commit id long enough to name one commit" : ""}), or pass --ref VERSION.`,
    },
  );
}

/**
 * One line for a person: the recipe, the version and where it came from. `notice` is set when the
 * version may not be the one abra deploys (no pin in a git checkout).
 */
export function describeVersion(
  recipe: string,
  recipeDir: string,
  loc: LocatedVersion,
): { text: string; notice: boolean } {
  const pinText = loc.pin?.version
    ? `${loc.pin.recipe}:${loc.pin.version} (${describePinSource(loc.pin.source)})`
    : "";
  const at = loc.head ? ` at commit ${loc.head.slice(0, 8)}` : "";
  switch (loc.source) {
    case "pinned":
      return {
        text: `recipe ${recipe} version ${loc.version}, pinned by ${describePinSource(loc.pin!.source)}`,
        notice: false,
      };
    case "ref":
      return {
        text: `recipe ${recipe} version ${loc.version}, from --ref${pinText ? `; the app .env pins ${pinText}` : ""}`,
        notice: false,
      };
    case "chaos":
      return {
        text: `recipe ${recipe}: the working tree as it is (--chaos)${at}${pinText ? `; the pin ${pinText} is not used` : ""}`,
        notice: false,
      };
    case "working-tree": {
      const dirs = gitDirs(recipeDir);
      if (!dirs)
        return {
          text: `recipe ${recipe}: the files in ${recipeDir} (not a git checkout: no versions)`,
          notice: false,
        };
      const newest = newestTag(listTags(dirs) ?? []);
      const named = loc.pin ? ` (${describePinSource(loc.pin.source)} names no version)` : "";
      return {
        text:
          `recipe ${recipe}: the app .env pins no version${named}, so the working tree${at} is resolved as it is; ` +
          `abra app deploy would deploy the running version, else the newest release${newest ? ` (${newest})` : ""}. ` +
          `Pin the version as abra app new does (TYPE=${loc.pin?.recipe || recipe}:VERSION), pass --ref VERSION, or --chaos when the working tree is what will be deployed.`,
        notice: true,
      };
    }
  }
}
