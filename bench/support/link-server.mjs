// An emulated network link in front of local servers (this kernel has no netem): a TCP proxy per
// upstream that adds the round trip a distant registry costs, and limits the bytes per second each
// connection (and, if asked, the whole link) carries towards the client. Run as its own process:
// the benchmarks time processes synchronously, which would stall a server in their event loop.
//   node link-server.mjs CONFIG.json     CONFIG: { links: [{ upstream, rttMs, connBps, linkBps }] }
// It prints one JSON line when listening: { ports: [PORT per link, in order] }.
//
// The model, per connection (times from the moment the client's connect() returns):
//   - the TCP handshake: nothing the client sends reaches the server before one round trip;
//   - each direction delays every byte by half a round trip;
//   - server-to-client bytes leave at most connBps per connection and, with linkBps, at most
//     linkBps over all the link's connections (one queue: a byte waits for both);
//   - no loss, no slow start: a connection sends at its full rate at once (an optimistic link,
//     so the figures measured through it are lower bounds for a real one).
import { readFileSync } from "node:fs";
import net from "node:net";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const CHUNK = 64 * 1024;
/** Bytes queued towards the client before the upstream socket is paused. */
const HIGH_WATER = 4 * 1024 * 1024;
const now = () => performance.now();

/**
 * Delivers chunks to `out` at their due times, in order. `due(len, readyAt)` gives each chunk's
 * arrival time when it is queued (the pacing is decided then, so the timer only has to be late).
 */
function pipeDelayed(from, to, due, onBacklog) {
  const queue = [];
  let queued = 0;
  let timer;
  let ended = false;
  const flush = () => {
    timer = undefined;
    const t = now();
    while (queue.length && queue[0].at <= t) {
      const c = queue.shift();
      queued -= c.data.length;
      if (!to.destroyed) to.write(c.data);
    }
    onBacklog?.(queued + to.writableLength);
    if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0].at - now()));
    else if (ended && !to.destroyed) to.end();
  };
  const schedule = () => {
    if (timer === undefined && queue.length) timer = setTimeout(flush, Math.max(0, queue[0].at - now()));
  };
  from.on("data", (buf) => {
    const t = now();
    for (let i = 0; i < buf.length; i += CHUNK) {
      const data = buf.subarray(i, Math.min(buf.length, i + CHUNK));
      queue.push({ data, at: due(data.length, t) });
      queued += data.length;
    }
    onBacklog?.(queued + to.writableLength);
    schedule();
  });
  // A client slower than the link (a daemon busy extracting) holds bytes in its socket buffer.
  to.on("drain", () => onBacklog?.(queued + to.writableLength));
  from.on("end", () => {
    ended = true;
    if (!queue.length && timer === undefined && !to.destroyed) to.end();
  });
  return () => clearTimeout(timer);
}

function startLink(link) {
  const [host, port] = link.upstream.split(":");
  const half = link.rttMs / 2;
  let linkFree = 0;
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const opened = now();
    const upstream = net.connect({ host, port: Number(port) });
    upstream.setNoDelay(true);
    // Client to server: not before the handshake's round trip, then half a round trip on the way.
    const up = pipeDelayed(client, upstream, (_len, t) => Math.max(t, opened + link.rttMs) + half);
    // Server to client: paced by the connection's rate and the link's, then half a round trip.
    let connFree = 0;
    const down = pipeDelayed(
      upstream,
      client,
      (len, t) => {
        let start = Math.max(t, connFree);
        if (link.linkBps) start = Math.max(start, linkFree);
        const sent = start + (link.connBps ? (len * 1000) / link.connBps : 0);
        connFree = sent;
        if (link.linkBps) linkFree = start + (len * 1000) / link.linkBps;
        return sent + half;
      },
      (queued) => {
        if (queued > HIGH_WATER) upstream.pause();
        else upstream.resume();
      },
    );
    const close = () => {
      up();
      down();
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    // An orderly end travels through pipeDelayed after the bytes before it; a client that went
    // away takes the upstream connection with it.
    client.on("close", () => setTimeout(() => upstream.destroy(), half));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
}

const ports = [];
for (const link of cfg.links) ports.push(await startLink(link));
process.stdout.write(`${JSON.stringify({ ports })}\n`);
process.on("SIGTERM", () => process.exit(0));
