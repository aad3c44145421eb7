// Which config.json key a --registry argument maps to: the docker client's own rules (Docker Hub
// under its legacy index URL, everything else as host[:port]).
import { describe, expect, it } from "vitest";
import { DOCKER_HUB_KEY, resolveRegistry, sameRegistry } from "../../src/auth/registry.js";
import { InputError } from "../../src/errors.js";

describe("resolveRegistry", () => {
  it.each([
    ["docker.io", DOCKER_HUB_KEY, true, false],
    ["index.docker.io", DOCKER_HUB_KEY, true, false],
    ["registry-1.docker.io", DOCKER_HUB_KEY, true, false],
    ["https://index.docker.io/v1/", DOCKER_HUB_KEY, true, false],
    ["Docker.IO", DOCKER_HUB_KEY, true, false],
    ["ghcr.io", "ghcr.io", false, false],
    ["https://registry.example.org:5000/v2/", "registry.example.org:5000", false, false],
    ["127.0.0.1:5000", "127.0.0.1:5000", false, true],
    ["localhost:5000", "localhost:5000", false, true],
    ["[::1]:5000", "[::1]:5000", false, true],
    ["10.0.0.1:5000", "10.0.0.1:5000", false, false],
  ])("%s → %s", (input, key, hub, loopback) => {
    const t = resolveRegistry(input);
    expect(t.key).toBe(key);
    expect(t.isDockerHub).toBe(hub);
    expect(t.isLoopback).toBe(loopback);
  });

  it("sends Docker Hub's API calls to its registry host, not the index URL", () => {
    expect(resolveRegistry("docker.io").apiHost).toBe("registry-1.docker.io");
  });

  it.each(["", "https://", "not a host", "a_b.example", "-x.example"])("rejects %j", (input) => {
    expect(() => resolveRegistry(input)).toThrow(InputError);
  });
});

describe("sameRegistry", () => {
  it.each([
    ["docker.io", "docker.io", true],
    [DOCKER_HUB_KEY, "docker.io", true],
    ["https://index.docker.io/v1/", "index.docker.io", true],
    ["ghcr.io", "docker.io", false],
    ["https://127.0.0.1:5000", "127.0.0.1:5000", true],
    ["127.0.0.1:5001", "127.0.0.1:5000", false],
  ])("%s vs --registry %s → %s", (key, input, same) => {
    expect(sameRegistry(key, resolveRegistry(input))).toBe(same);
  });
});
