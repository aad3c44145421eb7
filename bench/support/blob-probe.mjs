// The least a cold pull can do over a link, as a process: every manifest at once, then every blob
// the images need (each once, shared layers included once) at once, each on its own connection,
// the bytes counted and dropped. No decompression, no extraction: the link's floor for moving the
// bytes. The registry needs no auth (the token's round trip is in the auto benchmark).
//   node blob-probe.mjs REGISTRY_HOST REPO:TAG…
// Prints the bytes moved; exits 1 on any answer but 200.
import http from "node:http";

const [registry, ...tags] = process.argv.slice(2);
const [host, port] = registry.split(":");
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function get(path, accept) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent, headers: accept ? { accept } : {} }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode}`));
      const chunks = [];
      let bytes = 0;
      res.on("data", (c) => {
        bytes += c.length;
        if (accept) chunks.push(c);
      });
      res.on("end", () => resolve({ bytes, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

const manifests = await Promise.all(
  tags.map(async (t) => {
    const [repo, tag] = t.split(":");
    const m = JSON.parse(
      (await get(`/v2/${repo}/manifests/${tag}`, "application/vnd.docker.distribution.manifest.v2+json"))
        .body,
    );
    return { repo, digests: [m.config.digest, ...m.layers.map((l) => l.digest)] };
  }),
);
const blobs = new Map();
for (const m of manifests) for (const d of m.digests) if (!blobs.has(d)) blobs.set(d, m.repo);
const sizes = await Promise.all([...blobs].map(([d, repo]) => get(`/v2/${repo}/blobs/${d}`)));
process.stdout.write(`${sizes.reduce((n, s) => n + s.bytes, 0)}\n`);
