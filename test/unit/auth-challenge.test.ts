// WWW-Authenticate challenges as registries send them. The Bearer line is Docker Hub's; the Basic
// line is distribution's htpasswd auth (registry/auth/htpasswd: `Basic realm=%q`).
import { describe, expect, it } from "vitest";
import { parseChallenge } from "../../src/auth/challenge.js";

describe("parseChallenge", () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
      { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io" } },
    ],
    [
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"',
      {
        scheme: "bearer",
        params: { realm: "https://ghcr.io/token", service: "ghcr.io", scope: "repository:user/image:pull" },
      },
    ],
    ['Basic realm="imagekeeper-test"', { scheme: "basic", params: { realm: "imagekeeper-test" } }],
    ["Basic", { scheme: "basic", params: {} }],
    ['bearer Realm = "x", Service=y', { scheme: "bearer", params: { realm: "x", service: "y" } }],
    ['Bearer realm="a \\"quoted\\" realm"', { scheme: "bearer", params: { realm: 'a "quoted" realm' } }],
  ])("%s", (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });

  it.each([null, undefined, "", "   ", '"quoted"'])("%j → undefined", (header) => {
    expect(parseChallenge(header)).toBeUndefined();
  });
});
