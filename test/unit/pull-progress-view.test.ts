// What a person sees of pulls in flight: the log lines without a terminal (a line per state change,
// "still pulling" at the interval, stalls) and the live block on a terminal at 80 and 160 columns.
// Time is an argument: each test drives the model by hand.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { PullProgress } from "../../src/pull/progress.js";
import { formatEvent } from "../../src/ui/event-line.js";
import { LiveBlock } from "../../src/ui/live-block.js";
import { bytesPair, elapsedText, PullProgressModel } from "../../src/ui/pull-progress.js";
import { PLAIN } from "../../src/ui/terminal.js";
import { visibleWidth } from "../../src/ui/text.js";

const S = 1000;
const MB = 1_000_000;

function prog(phase: PullProgress["phase"], bytesDone: number, bytesTotal: number): PullProgress {
  return {
    phase,
    bytesDone,
    bytesTotal,
    layers: { total: 2, waiting: 0, downloading: 1, extracting: 0, done: 0, existing: 0 },
    waitingMs: 0,
    pullingMs: 0,
    digest: undefined,
  };
}

const model = (o: Partial<{ total: number; intervalMs: number; stallMs: number }> = {}) =>
  new PullProgressModel({ total: 3, intervalMs: 10 * S, stallMs: 30 * S, ...o });
const msgs = (es: { msg: string }[]) => es.map((e) => e.msg);

describe("bytesPair and elapsedText", () => {
  it.each([
    [0, 0, "0 B"],
    [999, 0, "999 B"],
    [1000, 0, "1.0 KB"],
    [120 * MB, 300 * MB, "120/300 MB"],
    [1.5 * MB, 9.94 * MB, "1.5/9.9 MB"],
    [0, 10 * MB, "0.0/10 MB"],
    [512, 2 * MB, "0.0/2.0 MB"],
    [2_500_000_000, 3_000_000_000, "2.5/3.0 GB"],
    [999_999, 1_000_000, "1.0/1.0 MB"],
  ])("%i of %i: %s", (d, t, text) => expect(bytesPair(d, t)).toBe(text));
  it.each([
    [0, "0s"],
    [999, "0s"],
    [45_900, "45s"],
    [59_999, "59s"],
    [60_000, "1m0s"],
    [200_000, "3m20s"],
  ])("%i ms: %s", (ms, text) => expect(elapsedText(ms)).toBe(text));
});

describe("log lines without a terminal", () => {
  it("a line per state change, each phase once, none for done", () => {
    const m = model();
    expect(msgs(m.start("nginx:1.27", 1, 0))).toEqual(["pulling nginx:1.27"]);
    expect(msgs(m.update("nginx:1.27", prog("resolving", 0, 0), 100))).toEqual([]);
    expect(msgs(m.update("nginx:1.27", prog("waiting", 0, 0), 200))).toEqual([
      "nginx:1.27: waiting for a download slot",
    ]);
    expect(msgs(m.update("nginx:1.27", prog("downloading", 1, 9), 300))).toEqual(["nginx:1.27: downloading"]);
    expect(msgs(m.update("nginx:1.27", prog("waiting", 1, 9), 400))).toEqual([]);
    expect(msgs(m.update("nginx:1.27", prog("downloading", 5, 9), 500))).toEqual([]);
    expect(msgs(m.update("nginx:1.27", prog("extracting", 9, 9), 600))).toEqual(["nginx:1.27: extracting"]);
    expect(msgs(m.update("nginx:1.27", prog("done", 9, 9), 700))).toEqual([]);
    expect(msgs(m.update("unknown:1", prog("downloading", 5, 9), 500))).toEqual([]);
  });

  it("a retry is announced with its attempt and its phases again; elapsed counts from the first", () => {
    const m = model();
    m.start("a:1", 1, 0);
    m.update("a:1", prog("downloading", 1, 9), 100);
    const again = m.start("a:1", 2, 5 * S);
    expect(msgs(again)).toEqual(["pulling a:1 (attempt 2)"]);
    expect(again[0]!.fields).toMatchObject({ attempt: 2, elapsedMs: 5 * S, phase: "starting" });
    expect(msgs(m.update("a:1", prog("downloading", 1, 9), 5100))).toEqual(["a:1: downloading"]);
  });

  it("still pulling at the interval after the last line about the image, with bytes and elapsed", () => {
    const m = model();
    m.start("postgres:16", 1, 0);
    m.update("postgres:16", prog("downloading", 20 * MB, 300 * MB), 2 * S); // a line at 2 s
    expect(m.tick(11.9 * S)).toEqual([]);
    m.update("postgres:16", prog("downloading", 120 * MB, 300 * MB), 11 * S);
    const due = m.tick(12 * S);
    expect(msgs(due)).toEqual(["still pulling postgres:16: 120/300 MB, 12s"]);
    expect(due[0]).toMatchObject({
      level: "info",
      fields: { ref: "postgres:16", bytesDone: 120 * MB, bytesTotal: 300 * MB, elapsedMs: 12 * S },
    });
    expect(m.tick(21.9 * S)).toEqual([]);
    expect(msgs(m.tick(22 * S))).toEqual(["still pulling postgres:16: 120/300 MB, 22s"]);
  });

  it("no bytes known yet: the elapsed time alone; waiting and extracting say so", () => {
    const m = model({ stallMs: 60 * S });
    m.start("a:1", 1, 0);
    expect(msgs(m.tick(10 * S))).toEqual(["still pulling a:1: 10s"]);
    m.update("a:1", prog("waiting", 0, 0), 10 * S);
    expect(msgs(m.tick(20 * S))).toEqual(["still pulling a:1: 20s, waiting for a download slot"]);
    m.update("a:1", prog("extracting", 3 * MB, 3 * MB), 20 * S);
    expect(msgs(m.tick(30 * S))).toEqual(["still pulling a:1: 3.0/3.0 MB, 30s, extracting"]);
  });

  it("a stall: no bytes for stallMs while downloading, said once as a warning, then its end", () => {
    const m = model({ intervalMs: 100 * S, stallMs: 30 * S });
    m.start("big:1", 1, 0);
    m.update("big:1", prog("downloading", 5 * MB, 50 * MB), 1 * S);
    m.update("big:1", prog("downloading", 5 * MB, 50 * MB), 20 * S); // same bytes: not a move
    expect(m.tick(30.999 * S)).toEqual([]);
    const st = m.tick(31 * S);
    expect(st).toHaveLength(1);
    expect(st[0]).toMatchObject({
      level: "warn",
      msg: "big:1: stalled: no bytes for 30s",
      fields: { stalledMs: 30 * S },
    });
    expect(m.tick(40 * S)).toEqual([]);
    expect(msgs(m.update("big:1", prog("downloading", 6 * MB, 50 * MB), 41 * S))).toEqual([
      "big:1: bytes again after a stall",
    ]);
    expect(m.tick(70 * S)).toEqual([]);
    expect(msgs(m.tick(71 * S))).toEqual(["big:1: stalled: no bytes for 30s"]);
  });

  it("a stall while resolving (no message at all yet) counts from the start", () => {
    const m = model({ stallMs: 5 * S, intervalMs: 100 * S });
    m.start("x:1", 1, 0);
    expect(m.tick(4 * S)).toEqual([]);
    expect(msgs(m.tick(5 * S))).toEqual(["x:1: stalled: no bytes for 5s"]);
  });

  it("waiting for a slot and extracting are not stalls; the interval line says stalled when it is", () => {
    const m = model({ stallMs: 5 * S, intervalMs: 10 * S });
    m.start("w:1", 1, 0);
    m.update("w:1", prog("waiting", 0, 0), 0);
    m.start("e:1", 1, 0);
    m.update("e:1", prog("extracting", 1, 1), 0);
    expect(m.tick(9 * S).filter((e) => e.level === "warn")).toEqual([]);
    m.start("s:1", 1, 0);
    m.update("s:1", prog("downloading", 1 * MB, 2 * MB), 0);
    expect(msgs(m.tick(6 * S))).toEqual(["s:1: stalled: no bytes for 6s"]);
    const later = m.tick(16 * S).filter((e) => e.fields.ref === "s:1");
    expect(later).toMatchObject([
      { level: "warn", msg: "still pulling s:1: 1.0/2.0 MB, 16s, stalled: no bytes for 16s" },
    ]);
  });

  it("as a readable log line (no terminal): the message, no fields", () => {
    const m = model({ stallMs: 60 * S });
    m.start("postgres:16", 1, 0);
    m.update("postgres:16", prog("downloading", 120 * MB, 300 * MB), 1 * S);
    const [e] = m.tick(45 * S);
    const line = formatEvent(
      { time: new Date(2026, 0, 1, 14, 2, 11), level: e!.level, msg: e!.msg, fields: [] },
      { terminal: PLAIN, journal: false },
    );
    expect(line).toBe("14:02:11 info  still pulling postgres:16: 120/300 MB, 45s");
  });
});

describe("the live block", () => {
  const refs = [
    "nginx:1.27.1",
    "registry.example.org/some/group/with-a-long-name/app:2024.11.30-build.7",
    "postgres:16.4",
  ];
  const scene = () => {
    const m = model({ total: 5, stallMs: 30 * S });
    m.start("done:1", 1, 0);
    m.finish("done:1", true);
    m.start("bad:1", 1, 0);
    m.finish("bad:1", false);
    m.start(refs[0]!, 1, 0);
    m.update(refs[0]!, prog("downloading", 12 * MB, 30 * MB), 40 * S);
    m.start(refs[1]!, 2, 10 * S);
    m.update(refs[1]!, prog("waiting", 0, 0), 10 * S);
    m.start(refs[2]!, 1, 0);
    m.update(refs[2]!, prog("downloading", 1 * MB, 4 * MB), 5 * S);
    return m;
  };

  it("at 160 columns: the overall line, a row per pull, nothing cut", () => {
    expect(scene().block(45 * S, 160)).toEqual([
      "pulling 2/5 done, 1 failed, 3 in flight  13/34 MB",
      "  nginx:1.27.1                                                             downloading                                12/30 MB  45s",
      "  registry.example.org/some/group/with-a-long-name/app:2024.11.30-build.7  waiting for a download slot (attempt 2)              35s",
      "  postgres:16.4                                                            stalled: no bytes for 40s                1.0/4.0 MB  45s",
    ]);
  });

  it.each([80, 160, 40])("at %i columns every line fits (a wrapped line would break the redraw)", (w) => {
    const lines = scene().block(45 * S, w);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(visibleWidth(l)).toBeLessThan(w);
    expect(lines[0]).toMatch(/^pulling 2\/5 done/);
  });

  it("at 80 columns the long name is cut in the middle, keeping the tag", () => {
    const lines = scene().block(45 * S, 80);
    expect(lines[2]).toMatch(/^ {2}registry\.\S*…\S*build\.7 /);
    expect(lines[3]).toMatch(/stalled: no bytes for 40s +1\.0\/4\.0 MB +45s$/);
  });
});

describe("LiveBlock", () => {
  const sink = () => {
    const out: string[] = [];
    return { out, stream: { write: (s: string) => out.push(s) } };
  };
  it("draws, erases its own lines before printing above, redraws, erases at stop", () => {
    const err = sink();
    const std = sink();
    const b = new LiveBlock(err.stream);
    b.print("before\n"); // nothing drawn yet: straight through
    b.update(["a", "b"]);
    b.print("log line\n", err.stream);
    b.print("result\n", std.stream);
    b.update(["c"]);
    b.stop();
    b.print("after\n");
    b.update(["never"]);
    expect(err.out).toEqual([
      "before\n",
      "a\nb\n",
      "\r\u001b[2A\u001b[J",
      "log line\n",
      "a\nb\n",
      "\r\u001b[2A\u001b[J",
      "a\nb\n",
      "\r\u001b[2A\u001b[Jc\n",
      "\r\u001b[1A\u001b[J",
      "after\n",
    ]);
    expect(std.out).toEqual(["result\n"]);
  });
});

describe("docs/prepull.md", () => {
  it("the live block example is what the renderer draws at 80 columns", () => {
    const m = model({ total: 3, stallMs: 30 * S });
    m.start("alpine:3.20", 1, 0);
    m.finish("alpine:3.20", true);
    m.start("nginx:1.27.1", 1, 0);
    m.update("nginx:1.27.1", prog("downloading", 12 * MB, 30 * MB), 44 * S);
    m.start("postgres:16.4", 1, 0);
    m.update("postgres:16.4", prog("downloading", 1 * MB, 4 * MB), 5 * S);
    const docs = readFileSync("docs/prepull.md", "utf8");
    const example = /- \*\*On a terminal\*\*[\s\S]*?```\n([\s\S]*?)```/.exec(docs)![1]!;
    expect(
      example
        .split("\n")
        .map((l) => l.replace(/^ {2}/, ""))
        .filter((l) => l !== ""),
    ).toEqual(m.block(45 * S, 80));
  });
});
