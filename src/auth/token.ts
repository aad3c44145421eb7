// The registry token flow (the distribution spec's, which Docker Hub uses): a `401` with
// `WWW-Authenticate: Bearer realm=…,service=…,scope=…` sends the client to the realm for a token,
// with Basic credentials, with an OAuth2 refresh token (the `identitytoken` docker keeps for some
// registries), or anonymously. One token can carry several scopes (`scope` repeated), so one
// request serves every repository of a registry. The realm only gets credentials over https, or
// plain http to a loopback host (as the daemon allows for local registries). Pure.
// https://distribution.github.io/distribution/spec/auth/token/
// https://distribution.github.io/distribution/spec/auth/oauth/
import { z } from "zod";
import type { Challenge } from "./challenge.js";
import { isLoopbackHost } from "./registry.js";

export const tokenResponseSchema = z.looseObject({
  token: z.string().optional(),
  access_token: z.string().optional(),
  expires_in: z.number().optional(),
});

export interface TokenCredential {
  username?: string | undefined;
  password?: string | undefined;
  identityToken?: string | undefined;
}

export interface TokenHttpRequest {
  method: "GET" | "POST";
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export const CLIENT_ID = "imagekeeper";

/** The realm as a URL if credentials may be sent there, else why not. */
export function safeRealm(realm: string): { ok: true; url: URL } | { ok: false; reason: string } {
  let u: URL;
  try {
    u = new URL(realm);
  } catch {
    return { ok: false, reason: "the token service is not a URL" };
  }
  if (u.protocol === "https:" || (u.protocol === "http:" && isLoopbackHost(u.host)))
    return { ok: true, url: u };
  return { ok: false, reason: `the token service ${u.origin} is not https` };
}

/** The pull scope of a repository, as the daemon asks for it. */
export const pullScope = (repository: string): string => `repository:${repository}:pull`;

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/**
 * The token request for `scopes` (sorted, deduplicated) at the challenge's realm. With an
 * identity token: the OAuth2 refresh-token grant (POST); with a username and password: GET with
 * Basic auth and `account`; with neither: an anonymous GET.
 */
export function tokenRequest(
  realm: URL,
  challenge: Challenge,
  scopes: readonly string[],
  cred: TokenCredential | undefined,
): TokenHttpRequest {
  const service = challenge.params.service;
  const sorted = [...new Set(scopes)].sort();
  if (cred?.identityToken) {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: cred.identityToken });
    if (service) form.set("service", service);
    form.set("client_id", CLIENT_ID);
    if (sorted.length) form.set("scope", sorted.join(" "));
    return {
      method: "POST",
      url: new URL(realm),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    };
  }
  const url = new URL(realm);
  if (service) url.searchParams.set("service", service);
  for (const s of sorted) url.searchParams.append("scope", s);
  const headers: Record<string, string> = {};
  if (cred?.username && cred.password !== undefined) {
    url.searchParams.set("account", cred.username);
    headers.Authorization = basicAuth(cred.username, cred.password);
  }
  url.searchParams.set("client_id", CLIENT_ID);
  return { method: "GET", url, headers };
}

/** The token in a token service's answer (`token`, or OAuth2's `access_token`). */
export function tokenFrom(json: unknown): string | undefined {
  const r = tokenResponseSchema.safeParse(json);
  return r.success ? (r.data.token ?? r.data.access_token) : undefined;
}
