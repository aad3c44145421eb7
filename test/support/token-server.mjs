// The token service behind startTokenRegistry (token-registry.ts), run as its own process: the
// tests call docker and the CLI synchronously, which would stall a server in the test's own event
// loop. Checks basic credentials, grants the scopes asked for, signs RS256 JWTs whose `x5c` header
// carries the self-signed certificate the registry trusts (and, for repositories under the
// optional `publicPrefix`, pull tokens to anonymous requests). Logs each request (never credentials)
// as a JSON line to LOG. Usage: node token-server.mjs CONFIG.json
// Spec: https://distribution.github.io/distribution/spec/auth/jwt/
import { createPrivateKey, createSign, randomBytes, X509Certificate } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import http from "node:http";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const signingKey = createPrivateKey(readFileSync(cfg.key));
const x5c = [new X509Certificate(readFileSync(cfg.cert)).raw.toString("base64")];
const expected = `Basic ${Buffer.from(`${cfg.user}:${cfg.password}`).toString("base64")}`;
const b64url = (b) => Buffer.from(b).toString("base64url");

const server = http.createServer((req, res) => {
  const u = new URL(req.url ?? "/", "http://x");
  const auth = req.headers.authorization;
  const scopes = u.searchParams.getAll("scope");
  appendFileSync(
    cfg.log,
    `${JSON.stringify({ account: u.searchParams.get("account"), scope: u.searchParams.get("scope"), scopes, clientId: u.searchParams.get("client_id"), withCredentials: auth !== undefined })}\n`,
  );
  // Anonymous requests get pull access to the repositories under `publicPrefix` (as Docker Hub
  // grants anonymous pulls of public images); anything else needs the credentials.
  const anonymousOk =
    auth === undefined &&
    cfg.publicPrefix !== undefined &&
    scopes.length > 0 &&
    scopes.every((s) => s.startsWith(`repository:${cfg.publicPrefix}`) && s.endsWith(":pull"));
  if (u.pathname !== "/token" || (auth !== expected && !anonymousOk)) {
    res.writeHead(401, { "content-type": "application/json" });
    res.end(JSON.stringify({ details: "incorrect username or password" }));
    return;
  }
  // scope=repository:NAME:pull,push (possibly repeated): grant what was asked.
  const access = scopes.flatMap((s) => {
    const m = /^repository:([^:]+):(.+)$/.exec(s);
    return m ? [{ type: "repository", name: m[1], actions: m[2].split(",") }] : [];
  });
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c }));
  const claims = b64url(
    JSON.stringify({
      iss: cfg.issuer,
      sub: cfg.user,
      aud: cfg.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString("hex"),
      access,
    }),
  );
  const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(signingKey);
  const token = `${header}.${claims}.${b64url(signature)}`;
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
});
server.listen(cfg.port, "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
