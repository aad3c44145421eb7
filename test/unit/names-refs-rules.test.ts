// Image names and references at their edges: names without a tag, a colon or an '@'; Docker Hub's
// "library/" only as the first path component; the 255-character limit; why a reference is
// rejected; and a swarm spec's image matched by tag, implicit latest, digest or unparsable text.
import { describe, expect, it } from "vitest";
import { parseReference } from "../../src/model/reference.js";
import { referenceKey, repoOfDigestRef, repoOfTag, specNamesImage } from "../../src/prune/names.js";

const D1 = `sha256:${"1".repeat(64)}`;
const ID = `sha256:${"f".repeat(64)}`;

describe("parseReference: edges", () => {
  const ok = (raw: string) => {
    const r = parseReference(raw);
    if (!r.ok) throw new Error(r.reason);
    return r.ref;
  };
  it.each([
    // "library/" is dropped from the familiar name only at the start of a Hub path.
    ["docker.io/org/library/x:1", "docker.io", "org/library/x", "org/library/x:1"],
    ["library/x:1", "docker.io", "library/x", "x:1"],
    ["reg.example/library/x:1", "reg.example", "library/x", "reg.example/library/x:1"],
    ["localhost/library/x", "localhost", "library/x", "localhost/library/x:latest"],
    ["localhost:5000/x", "localhost:5000", "x", "localhost:5000/x:latest"],
    ["org/app", "docker.io", "org/app", "org/app:latest"],
    // An upper-case first component can only be a registry host (Hub paths are lower-case).
    ["MyHost/app", "MyHost", "app", "MyHost/app:latest"],
  ])("%s: domain %s, path %s, familiar %s", (raw, domain, path, familiar) => {
    const r = ok(raw);
    expect([r.domain, r.path, r.familiar]).toEqual([domain, path, familiar]);
  });
  it("tag and digest as written", () => {
    expect(ok(`a/b:1.0@${D1}`)).toMatchObject({ tag: "1.0", digest: D1, raw: `a/b:1.0@${D1}` });
    expect(ok("a/b")).toMatchObject({ tag: undefined, digest: undefined });
  });
  it("a name of 255 characters is valid, 256 is not", () => {
    const name = (n: number) => `r.example/${"a".repeat(n - "r.example/".length)}`;
    expect(parseReference(`${name(255)}:1`).ok).toBe(true);
    const r = parseReference(`${name(256)}:1`);
    expect(r).toEqual({
      ok: false,
      reason: `"${name(256)}:1" is not a valid image reference: the name is longer than 255 characters`,
    });
  });
  it.each([
    ["nginx:$VERSION", "it still contains a variable reference"],
    ["nginx:${VERSION}", "it still contains a variable reference"],
    ["$_IMAGE", "it still contains a variable reference"],
    ["nginx:$1", "it does not match [registry/]name[:tag][@digest]"],
    ["nginx@", "it ends with ':' or '@' (an empty tag or digest: an unset variable?)"],
    ["reg.example/App:1", "repository names must be lower-case"],
    // Upper case in an earlier component (a domain may have it) but not the last: no such advice.
    ["Reg.Example/app:-x", "it does not match [registry/]name[:tag][@digest]"],
  ])("%j: %s", (raw, why) => {
    expect(parseReference(raw)).toEqual({
      ok: false,
      reason: `"${raw}" is not a valid image reference: ${why}`,
    });
  });
});

describe("names: edges", () => {
  it.each([
    ["nginx", "nginx"],
    ["nginx:1", "nginx"],
    ["reg.example:5000/x", "reg.example:5000/x"],
    ["reg.example:5000/x:2", "reg.example:5000/x"],
  ])("repoOfTag(%j) = %j", (tag, repo) => {
    expect(repoOfTag(tag)).toBe(repo);
  });
  it.each([
    ["nginx", "nginx"],
    [`nginx@${D1}`, "nginx"],
    [`reg.example:5000/x@${D1}`, "reg.example:5000/x"],
  ])("repoOfDigestRef(%j) = %j", (ref, repo) => {
    expect(repoOfDigestRef(ref)).toBe(repo);
  });
  it.each([
    ["docker.io/org/library/x:1", "org/library/x:1"],
    ["docker.io/library/x", "x:latest"],
  ])("referenceKey(%j) = %j", (ref, key) => {
    expect(referenceKey(ref)).toBe(key);
  });
});

describe("specNamesImage: each way a spec names an image", () => {
  const img = { id: ID, repoTags: ["nginx:latest", "app:1"], repoDigests: [`app@${D1}`] };
  it.each([
    ["a plain tag", "app:1", true],
    ["another tag", "app:2", false],
    ["no tag: latest", "nginx", true],
    ["no tag, none latest", "app", false],
    ["a digest the image has", `app@${D1}`, true],
    ["a digest of its ID", `other@${ID}`, true],
    ["a digest it does not have", `app@sha256:${"2".repeat(64)}`, false],
    ["its ID", ID, true],
    ["another ID", `sha256:${"e".repeat(64)}`, false],
  ])("%s: %s → %s", (_n, spec, ok) => {
    expect(specNamesImage(spec, img)).toBe(ok);
  });
  it("an unparsable spec matches a tag or digest written the same way, nothing else", () => {
    const odd = { id: ID, repoTags: ["Odd:1"], repoDigests: [`Odd@${D1}`] };
    expect(specNamesImage("Odd:1", odd)).toBe(true);
    expect(specNamesImage(`Odd@${D1}`, odd)).toBe(true);
    expect(specNamesImage("Odd:2", odd)).toBe(false);
  });
});
