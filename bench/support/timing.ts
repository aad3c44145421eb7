// Timing for the benchmarks: contenders run in turn (A B C A B C …), so drift in the machine's load
// hits every contender alike, and each ratio is taken round by round (a paired ratio) before its
// median. Medians throughout: one slow or one lucky run must not move a figure.
import { spawn } from "node:child_process";
import { loadavg } from "node:os";

export interface Contender {
  name: string;
  /** Runs once; returns the milliseconds it took (or throws). */
  run: () => number | Promise<number>;
}

export type Samples = Record<string, number[]>;

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The median over rounds of a[i] / b[i]. */
export const pairedRatio = (a: readonly number[], b: readonly number[]): number =>
  median(a.map((x, i) => x / b[i]!));

/** Every contender once per round, `rounds` rounds, after `warmup` uncounted rounds. */
export async function interleave(
  contenders: readonly Contender[],
  rounds: number,
  warmup = 1,
): Promise<Samples> {
  const samples: Samples = Object.fromEntries(contenders.map((c) => [c.name, [] as number[]]));
  for (let r = -warmup; r < rounds; r++) {
    for (const c of contenders) {
      const ms = await c.run();
      if (r >= 0) samples[c.name]!.push(ms);
    }
  }
  return samples;
}

/**
 * Milliseconds from spawn to exit of a whole process, and its stdout; rejects on a non-zero exit.
 * Asynchronous on purpose: the testbed's registry and daemons log through pipes that this process
 * reads, and a benchmark blocked in a synchronous spawn would let those pipes fill and the servers
 * stall. A bound: a hung contender fails the benchmark instead of stalling it.
 */
export function runProcess(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 600_000,
): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      clearTimeout(timer);
      if (code !== 0)
        reject(new Error(`${cmd} ${args.join(" ")}: exit ${code ?? signal}: ${Buffer.concat(err)}`));
      else resolve({ ms, stdout: Buffer.concat(out).toString() });
    });
  });
}

/** Milliseconds from spawn to exit of a whole process; rejects on a non-zero exit. */
export const timeProcess = async (
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> => (await runProcess(cmd, args, env)).ms;

export const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : "–");
export const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "–");
export const seconds = (x: number): string => (Number.isFinite(x) ? (x / 1000).toFixed(2) : "–");

/** A markdown table. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** What the table's caption says about the run: date, machine, Node, load. */
export function runContext(): string {
  const [l1, l5] = loadavg();
  return `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, load average ${l1!.toFixed(1)} (1 min) / ${l5!.toFixed(1)} (5 min)`;
}

/** A flag's value from argv: `--name VALUE`. */
export function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
