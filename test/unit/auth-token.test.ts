import { describe, expect, it } from "vitest";
import { parseChallenge } from "../../src/auth/challenge.js";
import { CLIENT_ID, pullScope, safeRealm, tokenFrom, tokenRequest } from "../../src/auth/token.js";

// A 401's challenge → the token request the registry client makes.
describe("challenge → token request", () => {
  const hub = parseChallenge(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
  )!;
  const realm = new URL(hub.params.realm!);
  const scopes = [pullScope("library/redis"), pullScope("library/nginx"), pullScope("library/nginx")];

  it("anonymous: a GET with every scope once, sorted, and no credentials", () => {
    const r = tokenRequest(realm, hub, scopes, undefined);
    expect(r.method).toBe("GET");
    expect(r.headers).toEqual({});
    expect(r.url.origin + r.url.pathname).toBe("https://auth.docker.io/token");
    expect(r.url.searchParams.get("service")).toBe("registry.docker.io");
    expect(r.url.searchParams.getAll("scope")).toEqual([
      "repository:library/nginx:pull",
      "repository:library/redis:pull",
    ]);
    expect(r.url.searchParams.has("account")).toBe(false);
    expect(r.url.searchParams.get("client_id")).toBe(CLIENT_ID);
  });

  it("username and password: Basic auth and the account", () => {
    const r = tokenRequest(realm, hub, scopes, { username: "ci-bot", password: "dckr_pat_x" });
    expect(r.method).toBe("GET");
    expect(r.headers.Authorization).toBe(`Basic ${Buffer.from("ci-bot:dckr_pat_x").toString("base64")}`);
    expect(r.url.searchParams.get("account")).toBe("ci-bot");
    expect(r.url.href).not.toContain("dckr_pat_x");
  });

  it("an identity token: the OAuth2 refresh-token grant, as a form POST", () => {
    const r = tokenRequest(realm, hub, scopes, { identityToken: "refresh-me" });
    expect(r.method).toBe("POST");
    expect(r.headers).toEqual({ "Content-Type": "application/x-www-form-urlencoded" });
    expect(Object.fromEntries(new URLSearchParams(r.body))).toEqual({
      grant_type: "refresh_token",
      refresh_token: "refresh-me",
      service: "registry.docker.io",
      client_id: CLIENT_ID,
      scope: "repository:library/nginx:pull repository:library/redis:pull",
    });
    expect(r.url.search).toBe("");
  });

  it("a challenge without a service sends none", () => {
    const ch = parseChallenge('Bearer realm="http://127.0.0.1:5001/token"')!;
    const r = tokenRequest(new URL(ch.params.realm!), ch, [], undefined);
    expect(r.url.searchParams.has("service")).toBe(false);
    expect(r.url.searchParams.has("scope")).toBe(false);
  });

  it("a password without a username goes anonymous", () => {
    const r = tokenRequest(realm, hub, [], { password: "x" });
    expect(r.headers.Authorization).toBeUndefined();
  });
});

describe("where credentials may go", () => {
  it.each([
    ["https://auth.docker.io/token", true],
    ["http://127.0.0.1:5001/token", true],
    ["http://localhost:5001/token", true],
    ["http://auth.example/token", false],
    ["not a url", false],
    ["", false],
  ])("%s: %s", (realm, ok) => {
    expect(safeRealm(realm).ok).toBe(ok);
  });
});

describe("the token in the answer", () => {
  it.each([
    [{ token: "a" }, "a"],
    [{ access_token: "b" }, "b"],
    [{ token: "a", access_token: "b" }, "a"],
    [{}, undefined],
    [{ token: 7 }, undefined],
    [null, undefined],
  ])("%j → %j", (json, token) => {
    expect(tokenFrom(json)).toBe(token);
  });
});
