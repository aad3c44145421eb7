// Emulated links for the benchmarks (link-server.mjs, its own process, stopped by PID): a distant
// registry is a local one behind a proxy that adds round trips and limits bytes per second.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

export interface LinkSpec {
  /** host:port of the server behind the link. */
  upstream: string;
  /** Round trip the link adds, milliseconds. */
  rttMs: number;
  /** Bytes per second one connection carries towards the client (undefined: unlimited). */
  connBps?: number;
  /** Bytes per second all the link's connections carry together (undefined: unlimited). */
  linkBps?: number;
}

export interface Links {
  /** host:port of each link, in the order given. */
  hosts: string[];
  pid: number;
  stop(): Promise<void>;
}

// From the repository root, where the benchmarks run (a bundled script has no useful import.meta).
const SERVER = path.resolve("bench/support/link-server.mjs");

export async function startLinks(links: readonly LinkSpec[]): Promise<Links> {
  const dir = mkdtempSync(path.join(tmpdir(), "iklink-"));
  const config = path.join(dir, "links.json");
  writeFileSync(config, JSON.stringify({ links }));
  const child = spawn(process.execPath, [SERVER, config], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", (l) => {
      rl.close();
      resolve(l);
    });
    child.once("exit", (code) => reject(new Error(`link-server exited (${code}) before listening`)));
  });
  const { ports } = JSON.parse(first) as { ports: number[] };
  return {
    hosts: ports.map((p) => `127.0.0.1:${p}`),
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
