// The engine events `imagekeeper watch` reads, provoked on a real daemon and mapped by the pure
// functions of src/watch/events.ts. With IMAGEKEEPER_CAPTURE=1 the raw stream is saved as
// test/fixtures/events/capture.jsonl for the unit table (test/unit/watch-events.test.ts), so that
// table runs on real daemon output, never on invented JSON.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/docker/engine.js";
import {
  EVENT_FILTERS,
  type EngineEvent,
  observe,
  parseEventLine,
  WATCHED_ACTIONS,
} from "../../src/watch/events.js";
import { apiTime, msToNano } from "../../src/watch/position.js";
import {
  BUSYBOX,
  type Daemon,
  type PushedImage,
  pushImage,
  type Registry,
  startDaemon,
  startRegistry,
  tempDir,
  waitFor,
} from "../support/testbed.js";

const CAPTURE = process.env.IMAGEKEEPER_CAPTURE === "1";
const FIXTURES = path.resolve("test/fixtures/events");

let reg: Registry;
let d: Daemon;
let app: PushedImage;
let svc: PushedImage;
let work: string;
const all: string[] = [];
const filtered: string[] = [];

beforeAll(async () => {
  reg = await startRegistry();
  d = await startDaemon();
  work = tempDir("ikev");
  await d.swarmInit();
  app = await pushImage(reg.host, "cap/app", "1");
  svc = await pushImage(reg.host, "cap/svc", "1");
  const since = apiTime(msToNano(Date.now() - 1000));

  d.docker(["pull", app.ref]);
  d.docker(["tag", app.ref, "cap/local:tagged"]);
  d.docker([
    "create",
    "--name",
    "cap-created",
    "--network",
    "none",
    "--label",
    "com.docker.stack.namespace=capstack",
    app.ref,
  ]);
  d.docker(["run", "--rm", "--name", "cap-run", "--network", "none", app.ref, "/bin/busybox", "true"]);
  writeFileSync(path.join(work, "stack.yml"), `version: "3.8"\nservices:\n  web:\n    image: ${svc.ref}\n`);
  d.docker(["stack", "deploy", "--detach=true", "-c", path.join(work, "stack.yml"), "capstack2"]);
  await waitFor(
    "the stack's container",
    async () =>
      d.docker(["ps", "-q", "--filter", "label=com.docker.stack.namespace=capstack2"]).trim() !== "",
    90_000,
  );
  d.docker(["save", "-o", path.join(work, "local.tar"), "cap/local:tagged"]);
  d.docker(["image", "rm", "cap/local:tagged"]);
  d.docker(["load", "-i", path.join(work, "local.tar")]);
  mkdirSync(path.join(work, "root", "bin"), { recursive: true });
  execFileSync("cp", [BUSYBOX, path.join(work, "root", "bin", "busybox")]);
  execFileSync("tar", ["-C", path.join(work, "root"), "-cf", path.join(work, "root.tar"), "."]);
  d.docker(["import", path.join(work, "root.tar"), "cap/imported:1"]);
  writeFileSync(path.join(work, "Dockerfile"), 'FROM cap/imported:1\nCMD ["/bin/busybox", "true"]\n');
  d.docker(["build", "-q", "-t", "cap/built:1", work], { env: { DOCKER_BUILDKIT: "0" } });
  d.docker(["rm", "cap-created"]);
  d.docker(["image", "rm", "cap/local:tagged", app.ref]);
  d.docker(["image", "rm", "cap/built:1"]);

  const until = apiTime(msToNano(Date.now() + 1000));
  const engine = new Engine({ socketPath: d.socket });
  await engine.events({ since, until }, (l) => all.push(l));
  await engine.events({ since, until, filters: EVENT_FILTERS }, (l) => filtered.push(l));
  if (CAPTURE) {
    mkdirSync(FIXTURES, { recursive: true });
    writeFileSync(path.join(FIXTURES, "capture.jsonl"), `${all.join("\n")}\n`);
  }
}, 300_000);

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
});

const events = (lines: string[]): EngineEvent[] =>
  lines.map((l) => {
    const p = parseEventLine(l);
    if (!p.ok) throw new Error(p.error);
    return p.event;
  });

describe("engine events as watch reads them", () => {
  it("the filter lets through exactly the watched events", () => {
    const watched = (e: EngineEvent) =>
      (WATCHED_ACTIONS[e.type as keyof typeof WATCHED_ACTIONS] as readonly string[] | undefined)?.includes(
        e.action,
      );
    const want = events(all).filter(watched);
    // Everything else maps to nothing (die, destroy, untag, network, service, …).
    for (const e of events(all).filter((x) => !watched(x))) expect(observe(e)).toBeUndefined();
    const got = events(filtered);
    expect(got.map((e) => `${e.type} ${e.action}`)).toEqual(want.map((e) => `${e.type} ${e.action}`));
    expect(new Set(got.map((e) => e.action))).toEqual(
      new Set(["pull", "tag", "create", "start", "load", "import", "delete"]),
    );
  });

  it("maps each kind of event", () => {
    const obs = events(filtered).map((e) => ({ e, o: observe(e) }));
    const find = (type: string, action: string, pred: (e: EngineEvent) => boolean = () => true) =>
      obs.find((x) => x.e.type === type && x.e.action === action && pred(x.e));
    // A pull names the reference, resolved to the ID later.
    expect(find("image", "pull", (e) => e.actor === app.ref)?.o).toMatchObject({
      kind: "arrival",
      how: "pull",
      subject: app.ref,
      ref: app.ref,
    });
    // Swarm pulls by digest: the pulled name is "repo:tag@sha256:…".
    expect(find("image", "pull", (e) => e.actor.startsWith(`${svc.ref}@sha256:`))?.o).toMatchObject({
      kind: "arrival",
      how: "pull",
    });
    expect(find("image", "tag", (e) => e.attributes.name === "cap/local:tagged")?.o).toMatchObject({
      kind: "arrival",
      how: "tag",
      subject: app.id,
      ref: "cap/local:tagged",
    });
    // The legacy builder tags what it built: a build arrives as a tag.
    expect(find("image", "tag", (e) => e.attributes.name === "cap/built:1")?.o).toMatchObject({
      kind: "arrival",
      how: "tag",
    });
    expect(find("image", "load")?.o).toMatchObject({
      kind: "arrival",
      how: "load",
      subject: app.id,
      ref: undefined,
    });
    expect(find("image", "import")?.o).toMatchObject({ kind: "arrival", how: "import", ref: undefined });
    expect(find("image", "delete", (e) => e.actor === app.id)?.o).toEqual({
      kind: "gone",
      at: expect.any(Number),
      id: app.id,
    });
    expect(find("container", "create", (e) => e.attributes.name === "cap-created")?.o).toMatchObject({
      kind: "use",
      image: app.ref,
      app: "capstack",
    });
    expect(find("container", "start", (e) => e.attributes.name === "cap-run")?.o).toMatchObject({
      kind: "use",
      image: app.ref,
      app: undefined,
    });
    const task = find(
      "container",
      "start",
      (e) => e.attributes["com.docker.stack.namespace"] === "capstack2",
    );
    expect(task?.o).toMatchObject({ kind: "use", app: "capstack2" });
    expect((task?.o as { image: string }).image).toMatch(
      new RegExp(`^${svc.ref.replace(/[.]/g, "\\.")}@sha256:`),
    );
  });

  it("reads timeNano exactly (beyond 2^53), in stream order", () => {
    const evs = events(filtered);
    for (const [i, l] of filtered.entries()) {
      const text = /"timeNano":(\d+)/.exec(l)![1]!;
      expect(evs[i]!.timeNano.toString()).toBe(text);
      expect(evs[i]!.at).toBe(Number(BigInt(text) / 1_000_000n));
    }
    for (let i = 1; i < evs.length; i++) expect(evs[i]!.timeNano >= evs[i - 1]!.timeNano).toBe(true);
  });
});
