import { describe, expect, it } from "vitest";
import { parseReference, pinKind } from "../../src/model/reference.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseReference", () => {
  it.each([
    ["nginx", "docker.io/library/nginx:latest", "nginx:latest"],
    ["nginx:1.25", "docker.io/library/nginx:1.25", "nginx:1.25"],
    ["library/nginx:1.25", "docker.io/library/nginx:1.25", "nginx:1.25"],
    ["docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25", "nginx:1.25"],
    ["index.docker.io/nginx:1.25", "docker.io/library/nginx:1.25", "nginx:1.25"],
    ["traefik/whoami:v1.10", "docker.io/traefik/whoami:v1.10", "traefik/whoami:v1.10"],
    [
      "git.coopcloud.example/coop-cloud/backup-bot-two:2.0.0",
      "git.coopcloud.example/coop-cloud/backup-bot-two:2.0.0",
      "git.coopcloud.example/coop-cloud/backup-bot-two:2.0.0",
    ],
    ["127.0.0.1:5000/demo/app:1.0", "127.0.0.1:5000/demo/app:1.0", "127.0.0.1:5000/demo/app:1.0"],
    ["localhost/app", "localhost/app:latest", "localhost/app:latest"],
    [`nginx@${D}`, `docker.io/library/nginx@${D}`, `nginx@${D}`],
    [`nginx:1.25@${D}`, `docker.io/library/nginx:1.25@${D}`, `nginx:1.25@${D}`],
  ])("%s", (raw, canonical, familiar) => {
    const r = parseReference(raw);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.ref.canonical).toBe(canonical);
      expect(r.ref.familiar).toBe(familiar);
    }
  });

  it.each([
    ["", /empty/],
    ["nginx:", /ends with ':'/],
    ["nginx:${VERSION}", /variable reference/],
    ["Nginx:1.25", /lower-case/],
    ["nginx:1.25 ", /whitespace/],
    ["nginx:-bad", /does not match/],
    ["nginx@sha256:short", /does not match/],
  ])("rejects %j", (raw, why) => {
    const r = parseReference(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(why);
  });
});

describe("pinKind", () => {
  const mutable = ["latest", "main", "edge"];
  it.each([
    ["nginx", "mutable-tag"],
    ["nginx:latest", "mutable-tag"],
    ["nginx:edge", "mutable-tag"],
    ["nginx:1.25", "pinned-tag"],
    [`nginx@${D}`, "digest"],
    [`nginx:latest@${D}`, "digest"],
  ])("%s is %s", (raw, kind) => {
    const r = parseReference(raw);
    if (!r.ok) throw new Error(r.reason);
    expect(pinKind(r.ref, mutable)).toBe(kind);
  });
});
