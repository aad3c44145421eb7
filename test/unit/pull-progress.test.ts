// The fold of the Engine API's pull progress, over streams captured from a real daemon
// (test/integration/pull-api.itg.test.ts with IMAGEKEEPER_CAPTURE=1). The captures carry no
// times, so line i is fed as arriving at i × 100 ms: the expected waits follow from the lines.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  finishFold,
  foldLine,
  foldMessage,
  newFold,
  type PullProgress,
  progressOf,
} from "../../src/pull/progress.js";

const DIR = path.resolve("test/fixtures/pull-progress");
const lines = (name: string) =>
  readFileSync(path.join(DIR, `${name}.jsonl`), "utf8")
    .trim()
    .split("\n");

/** Fold a capture, line i at i × 100 ms; the progress after each line, and at the end. */
function replay(name: string): {
  steps: PullProgress[];
  end: PullProgress;
  fold: ReturnType<typeof newFold>;
} {
  const ls = lines(name);
  const f = newFold(0);
  const steps = ls.map((l, i) => {
    foldLine(f, l, (i + 1) * 100);
    return progressOf(f, (i + 1) * 100);
  });
  finishFold(f, ls.length * 100);
  return { steps, end: progressOf(f, ls.length * 100), fold: f };
}

describe("two images pulled at once through one download slot", () => {
  // a: line 4 its data layer waits while the base layer is only queued (until line 5), and again
  // from line 7 (the base layer extracts, holding no slot) until line 9 (its download starts).
  it.each([
    ["cold.one-slot.a", 300, 1052098 + 6293693],
    // b: the same shape: waiting 4→5 and 8→10.
    ["cold.one-slot.b", 300, 1052098 + 6293696],
  ])("%s waited %i ms of its time, downloaded %i bytes", (name, waited, bytes) => {
    const { end, fold } = replay(name);
    expect(end.waitingMs).toBe(waited);
    expect(end.pullingMs).toBe(lines(name).length * 100 - waited);
    expect(end.bytesDone).toBe(bytes);
    expect(end.bytesTotal).toBe(bytes);
    expect(end.layers).toEqual({ total: 2, waiting: 0, downloading: 0, extracting: 0, done: 2, existing: 0 });
    expect(end.phase).toBe("done");
    expect(fold.outcome).toBe("downloaded");
    expect(fold.error).toBeUndefined();
    expect(end.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("says waiting exactly while the download stands still for a slot", () => {
    const { steps } = replay("cold.one-slot.a");
    // Lines 1–3 resolve and queue; 4 waits; 5–6 download the base layer; 7–8 extract it while
    // the data layer still waits; 9 onward download and extract; 21 done.
    expect(steps.map((s) => s.phase)).toEqual([
      "resolving",
      ...Array(2).fill("downloading"),
      "waiting",
      ...Array(2).fill("downloading"),
      ...Array(2).fill("waiting"),
      ...Array(6).fill("extracting"),
      "downloading", // 15: the base layer is complete, the data layer downloaded, not yet extracting
      ...Array(3).fill("extracting"),
      ...Array(3).fill("done"),
    ]);
    expect(steps[3]!.layers.waiting).toBe(2); // one queued, one waiting
    expect(steps[4]!.layers.downloading).toBe(1);
    expect(steps[8]!.layers).toMatchObject({ downloading: 1, extracting: 1, waiting: 0 });
    expect(steps[3]!.waitingMs).toBe(0);
    expect(steps[4]!.waitingMs).toBe(100);
    expect(steps[7]!.waitingMs).toBe(100 + 100);
    expect(steps[8]!.waitingMs).toBe(300);
  });
});

describe("other captured pulls", () => {
  it("an unchanged tag: up to date, no layer, nothing downloaded", () => {
    const { end, fold } = replay("up-to-date");
    expect(fold.outcome).toBe("up-to-date");
    expect(end).toMatchObject({ phase: "done", bytesDone: 0, bytesTotal: 0, waitingMs: 0 });
    expect(end.layers.total).toBe(0);
    expect(end.digest).toBe("sha256:5280b52b000bf1670bf290fcb26062ccc110ef76d6c23ab7483406dc4bc4de20");
  });

  it("a moved tag sharing its base: one layer already exists, one is downloaded", () => {
    const { end, fold } = replay("moved-tag");
    expect(fold.outcome).toBe("downloaded");
    expect(end.layers).toEqual({ total: 2, waiting: 0, downloading: 0, extracting: 0, done: 1, existing: 1 });
    expect([end.bytesDone, end.bytesTotal, end.waitingMs]).toEqual([300488, 300488, 0]);
  });

  it("a layer refetched without a total is sized by the most bytes a message counted", () => {
    const { end, steps } = replay("refetched-layer");
    // The base layer reported 545792 bytes with no total; "Download complete" (line 9) takes that,
    // and its extraction, which reads the same compressed bytes, counts 1052098 by "Pull complete".
    expect(steps[8]!.bytesDone).toBe(400525 + 545792);
    expect([end.bytesDone, end.bytesTotal]).toEqual([400525 + 1052098, 400525 + 1052098]);
  });

  it("a full disk: the error line ends the stream; the bytes so far remain", () => {
    const { end, fold } = replay("disk-full");
    expect(fold.error).toBe("write /tmp/X/tmp/X: no space left on device");
    expect(fold.outcome).toBeUndefined();
    expect(end.phase).toBe("extracting");
    expect(end.bytesDone).toBe(1052098 + 50347389);
  });
});

describe("fold rules", () => {
  const at = (
    f: ReturnType<typeof newFold>,
    t: number,
    status: string,
    id?: string,
    detail?: { current?: number; total?: number },
  ) => foldMessage(f, { status, ...(id ? { id } : {}), ...(detail ? { progressDetail: detail } : {}) }, t);

  it("retrying a download holds the slot: not waiting", () => {
    const f = newFold(0);
    at(f, 0, "Pulling fs layer", "l1");
    at(f, 0, "Pulling fs layer", "l2");
    at(f, 10, "Waiting", "l2");
    at(f, 20, "Downloading", "l1", { current: 1, total: 10 });
    at(f, 30, "Retrying in 5 seconds", "l1");
    expect(progressOf(f, 40).waitingMs).toBe(10);
    at(f, 50, "Download complete", "l1");
    expect(progressOf(f, 80).waitingMs).toBe(10 + 30);
  });
  it("a waiting interval still open at the end is closed there", () => {
    const f = newFold(0);
    at(f, 0, "Pulling fs layer", "l1");
    at(f, 100, "Waiting", "l1");
    finishFold(f, 250);
    expect(progressOf(f, 999).waitingMs).toBe(150);
  });
  it("messages without a layer id do not make layers; junk lines are ignored", () => {
    const f = newFold(0);
    foldLine(f, "not json", 1);
    foldLine(f, '{"status":"Downloading"}', 2);
    foldLine(f, '{"status":"Pulling from x","id":"1.0"}', 3);
    expect(progressOf(f, 4).layers.total).toBe(0);
  });
  it("the error document wins over status", () => {
    const f = newFold(0);
    foldLine(f, '{"errorDetail":{"message":"boom"},"error":"boom (short)"}', 1);
    expect(f.error).toBe("boom");
    const g = newFold(0);
    foldLine(g, '{"error":"only this"}', 1);
    expect(g.error).toBe("only this");
  });
  it("a current beyond the total is capped", () => {
    const f = newFold(0);
    at(f, 1, "Downloading", "l1", { current: 50, total: 10 });
    expect(progressOf(f, 2)).toMatchObject({ bytesDone: 10, bytesTotal: 10 });
  });
});

// Survivors of the first mutation run: each rule below with the input that tells it apart.
describe("fold rules, one input per rule", () => {
  const msg = (status: string, id?: string, detail?: { current?: number; total?: number }) => ({
    status,
    ...(id ? { id } : {}),
    ...(detail ? { progressDetail: detail } : {}),
  });

  it("a moved tag is done once its last layer is complete, before the Status line", () => {
    const { steps } = replay("moved-tag");
    // Line 12 "Pull complete": one layer done, one already there, no outcome yet.
    expect(steps[11]!.phase).toBe("done");
    expect(steps[10]!.phase).toBe("extracting");
  });

  it("a refetched layer's bytes stay as downloaded while it extracts, until it is complete", () => {
    const { steps } = replay("refetched-layer");
    // Line 10: its extraction counts 557056, more than the 545792 downloaded.
    expect(steps[9]!.bytesDone).toBe(400525 + 545792);
    expect(steps[9]!.bytesTotal).toBe(400525 + 545792);
  });

  it.each([
    ["Retrying in 5 seconds", true],
    ["Retrying in 1 second", true],
    ["Retrying in 10 seconds", true],
    ["Retrying in x seconds", false],
    ["Retrying in 5 seconds (attempt 2)", false],
    ["Not Retrying in 5 seconds", false],
    ["Pulling from x", false],
  ])("%j is a retry: %s", (status, retry) => {
    const f = foldMessage(newFold(0), msg(status, "l1"), 1);
    expect(progressOf(f, 2).layers).toEqual({
      total: retry ? 1 : 0,
      waiting: 0,
      downloading: retry ? 1 : 0,
      extracting: 0,
      done: 0,
      existing: 0,
    });
  });

  it("a layer retrying after it waited (its request failed before any byte) holds the slot", () => {
    const f = newFold(0);
    foldMessage(f, msg("Pulling fs layer", "l1"), 0);
    foldMessage(f, msg("Waiting", "l1"), 10);
    foldMessage(f, msg("Retrying in 5 seconds", "l1"), 30);
    expect(progressOf(f, 100)).toMatchObject({
      phase: "downloading",
      waitingMs: 20,
      layers: { total: 1, waiting: 0, downloading: 1 },
    });
  });

  it("an error document with only errorDetail is an error", () => {
    const f = newFold(0);
    foldLine(f, '{"errorDetail":{"message":"manifest unknown"}}', 1);
    expect(f.error).toBe("manifest unknown");
  });

  it("a document of the wrong shape is ignored whole", () => {
    const f = newFold(0);
    foldLine(f, '{"status":"Downloading","id":"l1","progressDetail":{"current":"5"}}', 1);
    expect(progressOf(f, 2).layers.total).toBe(0);
  });

  it("a size of 0 keeps the size known; bytes back to 0 count, negative bytes do not", () => {
    const f = newFold(0);
    foldMessage(f, msg("Downloading", "l1", { current: 5, total: 10 }), 1);
    foldMessage(f, msg("Downloading", "l1", { current: 7, total: 0 }), 2);
    expect(progressOf(f, 3)).toMatchObject({ bytesDone: 7, bytesTotal: 10 });
    foldMessage(f, msg("Downloading", "l1", { current: 20, total: 0 }), 3);
    expect(progressOf(f, 4)).toMatchObject({ bytesDone: 10, bytesTotal: 10 });
    foldMessage(f, msg("Downloading", "l1", { current: -1, total: 10 }), 4);
    expect(progressOf(f, 5)).toMatchObject({ bytesDone: 10, bytesTotal: 10 });
    foldMessage(f, msg("Downloading", "l1", { current: 0, total: 10 }), 5);
    expect(progressOf(f, 6)).toMatchObject({ bytesDone: 0, bytesTotal: 10 });
  });

  it("a layer refetched from 0 without a size is complete at its new count, not its old one", () => {
    const f = newFold(0);
    foldMessage(f, msg("Downloading", "l1", { current: 500 }), 1);
    foldMessage(f, msg("Downloading", "l1", { current: 100 }), 2);
    foldMessage(f, msg("Download complete", "l1"), 3);
    expect(progressOf(f, 4)).toMatchObject({ bytesDone: 100, bytesTotal: 100 });
  });

  it("a layer that ends as already in the store counts no bytes", () => {
    const f = newFold(0);
    foldMessage(f, msg("Downloading", "l1", { current: 5, total: 10 }), 1);
    foldMessage(f, msg("Already exists", "l1"), 2);
    expect(progressOf(f, 3)).toMatchObject({ bytesDone: 0, bytesTotal: 0, phase: "done" });
  });

  it("the time pulling counts from the fold's start", () => {
    expect(progressOf(newFold(1000), 1500).pullingMs).toBe(500);
  });

  it("the digest is the text after 'Digest: '", () => {
    const f = foldMessage(newFold(0), msg("Digest: sha256:abc "), 1);
    expect(progressOf(f, 2).digest).toBe("sha256:abc");
  });
});
