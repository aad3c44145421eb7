import { describe, expect, it } from "vitest";
import {
  displayNames,
  globMatch,
  isSingleReference,
  referenceKey,
  removalArgs,
  repoOfTag,
  specNamesImage,
} from "../../src/prune/names.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const ID = `sha256:${"f".repeat(64)}`;
const R = "127.0.0.1:5000";

describe("globMatch (prune.keep)", () => {
  it.each([
    ["traefik:*", "traefik:v2.11", true],
    ["traefik:*", "traefik:<none>", true],
    ["traefik:*", "traefik/whoami:v1.10", false],
    ["traefik:*", "xtraefik:v2", false],
    ["*/postgres:*", `${R}/db/postgres:16`, true],
    ["*/postgres:*", "bitnami/postgres:16", true],
    ["*/postgres:*", "postgres:16", false],
    ["postgres:1?", "postgres:16", true],
    ["postgres:1?", "postgres:161", false],
    ["nginx:1.25", "nginx:1x25", false],
    ["*", "<none>:<none>", true],
    ["a+b:(x)", "a+b:(x)", true],
  ])("%s ~ %s → %s", (p, name, ok) => {
    expect(globMatch(p, name)).toBe(ok);
  });
});

describe("displayNames (as docker images shows them)", () => {
  it.each([
    [["nginx:1.25"], [`nginx@${D1}`], ["nginx:1.25"]],
    [[], [`${R}/x/y@${D1}`], [`${R}/x/y:<none>`]],
    [[], [], ["<none>:<none>"]],
    [["a:1"], [`a@${D1}`, `b@${D1}`], ["a:1", "b:<none>"]],
  ])("%j %j", (tags, digests, names) => {
    expect(displayNames(tags, digests)).toEqual(names);
  });
});

describe("repoOfTag", () => {
  it.each([
    ["nginx:1.25", "nginx"],
    [`${R}/x/y:1.0`, `${R}/x/y`],
    [`${R}/x/y`, `${R}/x/y`],
  ])("%s", (t, repo) => expect(repoOfTag(t)).toBe(repo));
});

describe("referenceKey (ledger reference → local name)", () => {
  it.each([
    ["nginx", "nginx:latest"],
    ["docker.io/library/nginx:1.25", "nginx:1.25"],
    ["library/nginx:1.25", "nginx:1.25"],
    [`${R}/x/y:1.0`, `${R}/x/y:1.0`],
    [`${R}/x/y:1.0@${D1}`, `${R}/x/y@${D1}`],
    ["NOT A REF", "NOT A REF"],
  ])("%s", (ref, key) => expect(referenceKey(ref)).toBe(key));
});

describe("specNamesImage (swarm service specs)", () => {
  const pinned = { id: ID, repoTags: [], repoDigests: [`${R}/x/y@${D1}`] };
  const tagged = { id: ID, repoTags: [`${R}/x/y:1.0`, "nginx:1.25"], repoDigests: [`${R}/x/y@${D2}`] };
  it.each([
    ["tag@digest matches the digest", `${R}/x/y:1.0@${D1}`, pinned, true],
    ["the tag beside a digest is ignored", `${R}/x/y:9.9@${D1}`, pinned, true],
    ["another digest does not match", `${R}/x/y:1.0@${D1}`, tagged, false],
    ["same manifest pushed to another repository", `${R}/mirror/y@${D1}`, pinned, true],
    ["by tag", `${R}/x/y:1.0`, tagged, true],
    ["Hub name in full", "docker.io/library/nginx:1.25", tagged, true],
    ["implicit latest", `${R}/x/y`, tagged, false],
    ["by image ID", ID, pinned, true],
  ])("%s", (_n, spec, img, ok) => {
    expect(specNamesImage(spec, img)).toBe(ok);
  });
});

describe("isSingleReference / removalArgs (moby's image delete rules)", () => {
  it.each([
    ["one tag", ["a:1"], [], true, "id"],
    ["tag and its digest", ["a:1"], [`a@${D1}`], true, "id"],
    ["digest only", [], [`a@${D1}`], true, "id"],
    ["no reference at all", [], [], false, "id"],
    ["two tags", ["a:1", "a:2"], [`a@${D1}`], false, ["a:1", "a:2"]],
    ["tag plus a digest in another repo", ["a:1"], [`a@${D1}`, `b@${D1}`], false, ["a:1", `b@${D1}`]],
    ["digests in two repos", [], [`a@${D1}`, `b@${D1}`], false, [`a@${D1}`, `b@${D1}`]],
  ])("%s", (_n, tags, digests, single, args) => {
    expect(isSingleReference(tags, digests)).toBe(single);
    expect(removalArgs({ id: ID, repoTags: tags, repoDigests: digests })).toEqual(
      args === "id" ? [ID] : args,
    );
  });
});
