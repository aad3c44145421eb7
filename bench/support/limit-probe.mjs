// The least a warm digest-true check can do over a link, as a process: Node's start, one token
// request, one manifest HEAD per tag, all HEADs at once, on connections opened while the token is
// fetched; the realm and service known beforehand (as a client does for Docker Hub). Nothing else:
// no config, no credential lookup, no ping. The physical limit of `prepull --pull-policy auto`.
//   node limit-probe.mjs REGISTRY_HOST REALM_URL SERVICE REPO:TAG…
// Exits 0 when every HEAD answered 200, else 1.
import net from "node:net";

const [registry, realm, service, ...tags] = process.argv.slice(2);
const [host, port] = registry.split(":");
const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** HEAD on a kept-alive `socket`: resolves with the status once the answer's head is in. */
function head(socket, text) {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (c) => {
      buf += c.toString("latin1");
      if (!buf.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      resolve(Number(buf.slice(9, 12)));
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(text);
  });
}

/** GET with `Connection: close`: resolves with the status and the (de-chunked) body at the end. */
function get(socket, text) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    socket.on("data", (c) => chunks.push(c));
    socket.once("error", reject);
    socket.once("end", () => {
      const all = Buffer.concat(chunks).toString("latin1");
      const end = all.indexOf("\r\n\r\n");
      let body = all.slice(end + 4);
      if (/\r\ntransfer-encoding: *chunked/i.test(all.slice(0, end))) {
        let out = "";
        for (let i = 0; ;) {
          const nl = body.indexOf("\r\n", i);
          const len = parseInt(body.slice(i, nl), 16);
          if (!len) break;
          out += body.slice(nl + 2, nl + 2 + len);
          i = nl + 2 + len + 2;
        }
        body = out;
      }
      resolve({ status: Number(all.slice(9, 12)), body });
    });
    socket.write(text);
  });
}

const connect = (h, p) =>
  new Promise((resolve, reject) => {
    const s = net.connect({ host: h, port: Number(p) }, () => resolve(s));
    s.setNoDelay(true);
    s.once("error", reject);
  });

const sockets = tags.map(() => connect(host, port));
const r = new URL(realm);
r.searchParams.set("service", service);
for (const t of tags) r.searchParams.append("scope", `repository:${t.split(":")[0]}:pull`);
const tokenSocket = await connect(r.hostname, r.port);
const tok = await get(
  tokenSocket,
  `GET ${r.pathname}${r.search} HTTP/1.1\r\nHost: ${r.host}\r\nConnection: close\r\n\r\n`,
);
if (tok.status !== 200) throw new Error(`token: ${tok.status} ${tok.body}`);
const { token } = JSON.parse(tok.body);
const answers = await Promise.all(
  tags.map(async (t, i) => {
    const [repo, tag] = t.split(":");
    const s = await sockets[i];
    const status = await head(
      s,
      `HEAD /v2/${repo}/manifests/${tag} HTTP/1.1\r\nHost: ${registry}\r\nAuthorization: Bearer ${token}\r\nAccept: ${ACCEPT}\r\n\r\n`,
    );
    s.destroy();
    return status;
  }),
);
process.exitCode = answers.every((s) => s === 200) ? 0 : 1;
