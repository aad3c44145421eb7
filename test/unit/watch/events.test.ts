// The event → ledger-change mapping, on events captured from a real dockerd 20.10
// (test/fixtures/events/capture.jsonl, written by test/integration/watch-events.itg.test.ts with
// IMAGEKEEPER_CAPTURE=1): a pull, a tag, a container created with a stack label, a `docker run
// --rm`, a swarm stack deploy (digest pull, task container), save/load, import, a legacy build,
// removals.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  changeOf,
  EVENT_FILTERS,
  type EngineEvent,
  isEmptyChange,
  observe,
  parseEventLine,
} from "../../../src/watch/events.js";

const lines = readFileSync(path.resolve("test/fixtures/events/capture.jsonl"), "utf8")
  .split("\n")
  .filter(Boolean);
const events: EngineEvent[] = lines.map((l) => {
  const p = parseEventLine(l);
  if (!p.ok) throw new Error(p.error);
  return p.event;
});
const at = (e: EngineEvent) => e.at;
const APP_ID = "sha256:bfa20eae28646c9584a4583b4927045d53b138b7b6544c247b07962f60642bc0";

function find(type: string, action: string, pred: (e: EngineEvent) => boolean = () => true): EngineEvent {
  const e = events.find((x) => x.type === type && x.action === action && pred(x));
  if (!e) throw new Error(`no ${type} ${action} in the fixture`);
  return e;
}

describe("parseEventLine", () => {
  it("reads every captured line, with timeNano exact beyond 2^53", () => {
    expect(events).toHaveLength(lines.length);
    const first = events[0]!;
    const text = /"timeNano":(\d+)/.exec(lines[0]!)![1]!;
    expect(first.timeNano.toString()).toBe(text);
    // JSON.parse would have rounded it.
    expect(BigInt(Math.round(JSON.parse(lines[0]!).timeNano as number))).not.toBe(first.timeNano);
    expect(first.at).toBe(Number(BigInt(text) / 1_000_000n));
  });

  it.each([
    ["not JSON", "{nope", /not JSON/],
    ["not an event", '{"status":"x"}', /not an event message/],
    ["an event without an actor", '{"Type":"image","Action":"pull","time":1}', /not an event message/],
  ])("reports %s, never throws", (_n, line, msg) => {
    const r = parseEventLine(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(msg);
  });

  it("falls back to time (seconds) when timeNano is absent", () => {
    const r = parseEventLine(
      '{"Type":"image","Action":"delete","Actor":{"ID":"sha256:x"},"time":1700000000}',
    );
    expect(r.ok && r.event.timeNano).toBe(1700000000000000000n);
    expect(r.ok && r.event.attributes).toEqual({});
  });

  it("takes the message's own timeNano, not a label's text", () => {
    const line =
      '{"Type":"container","Action":"start","Actor":{"ID":"c","Attributes":{"note":"\\"timeNano\\":5"}},"time":1700000000,"timeNano":1700000000123456789}';
    const r = parseEventLine(line);
    expect(r.ok && r.event.timeNano).toBe(1700000000123456789n);
  });
});

describe("observe: what each captured event means", () => {
  it("image pull: an arrival under the reference pulled", () => {
    const e = find("image", "pull", (x) => x.actor.endsWith("/cap/app:1"));
    expect(observe(e)).toEqual({ kind: "arrival", at: at(e), how: "pull", subject: e.actor, ref: e.actor });
  });

  it("swarm's digest pull: an arrival under repo:tag@sha256:…", () => {
    const e = find("image", "pull", (x) => x.actor.includes("/cap/svc:1@sha256:"));
    expect(observe(e)).toMatchObject({ kind: "arrival", how: "pull", subject: e.actor, ref: e.actor });
  });

  it("image tag: an arrival of the image ID under the new name", () => {
    const e = find("image", "tag", (x) => x.attributes.name === "cap/local:tagged");
    expect(observe(e)).toEqual({
      kind: "arrival",
      at: at(e),
      how: "tag",
      subject: APP_ID,
      ref: "cap/local:tagged",
    });
  });

  it("a legacy build: a tag of what it built", () => {
    expect(observe(find("image", "tag", (x) => x.attributes.name === "cap/built:1"))).toMatchObject({
      kind: "arrival",
      how: "tag",
      ref: "cap/built:1",
    });
  });

  it("image load and import: arrivals without a name (the event names the ID)", () => {
    expect(observe(find("image", "load"))).toMatchObject({
      kind: "arrival",
      how: "load",
      subject: APP_ID,
      ref: undefined,
    });
    const imp = find("image", "import");
    expect(observe(imp)).toMatchObject({
      kind: "arrival",
      how: "import",
      subject: imp.actor,
      ref: undefined,
    });
  });

  it("image delete: gone", () => {
    const e = find("image", "delete", (x) => x.actor === APP_ID);
    expect(observe(e)).toEqual({ kind: "gone", at: at(e), id: APP_ID });
  });

  it("container create with a stack label: a use by that app", () => {
    const e = find("container", "create", (x) => x.attributes.name === "cap-created");
    expect(observe(e)).toEqual({
      kind: "use",
      at: at(e),
      container: e.actor,
      image: e.attributes.image,
      app: "capstack",
    });
    expect(e.attributes.image).toMatch(/\/cap\/app:1$/);
  });

  it("docker run: create and start are uses, without an app", () => {
    for (const action of ["create", "start"])
      expect(observe(find("container", action, (x) => x.attributes.name === "cap-run"))).toMatchObject({
        kind: "use",
        app: undefined,
      });
  });

  it("a swarm task: its stack is the app, its image the digest-pinned name", () => {
    const e = find("container", "start", (x) => x.attributes["com.docker.stack.namespace"] === "capstack2");
    expect(observe(e)).toMatchObject({ kind: "use", app: "capstack2", container: e.actor });
    expect((observe(e) as { image: string }).image).toMatch(/\/cap\/svc:1@sha256:[0-9a-f]{64}$/);
  });

  it("the build's intermediate container names its base by ID", () => {
    const e = find("container", "create", (x) => x.attributes.image?.startsWith("sha256:") === true);
    expect(observe(e)).toMatchObject({ kind: "use", image: e.attributes.image });
  });

  it.each([
    ["container", "attach"],
    ["container", "die"],
    ["container", "destroy"],
    ["image", "untag"],
    ["image", "save"],
    ["network", "connect"],
    ["network", "create"],
    ["service", "create"],
    ["node", "update"],
  ])("%s %s: nothing", (type, action) => {
    expect(observe(find(type, action))).toBeUndefined();
  });

  it("the subscription filter asks for exactly the events that map to something", () => {
    const mapped = new Set(events.filter((e) => observe(e)).map((e) => `${e.type} ${e.action}`));
    const asked = new Set(
      EVENT_FILTERS.type!.flatMap((t) =>
        EVENT_FILTERS.event!.filter((a) => mapped.has(`${t} ${a}`)).map((a) => `${t} ${a}`),
      ),
    );
    expect(asked).toEqual(mapped);
    expect(EVENT_FILTERS.type).toEqual(["container", "image"]);
  });
});

describe("changeOf: the ledger change once the image ID is known", () => {
  const ID = "sha256:" + "a".repeat(64);
  it("a use: under the name as given, with the app; source container", () => {
    const e = find("container", "start", (x) => x.attributes["com.docker.stack.namespace"] === "capstack2");
    expect(changeOf(observe(e)!, ID)).toEqual({
      uses: [{ at: at(e), id: ID, ref: e.attributes.image, app: "capstack2", source: "container" }],
    });
  });

  it("a use by image ID records no name", () => {
    const e = find("container", "create", (x) => x.attributes.image?.startsWith("sha256:") === true);
    expect(changeOf(observe(e)!, ID).uses?.[0]?.ref).toBeUndefined();
  });

  it("an arrival", () => {
    const e = find("image", "pull", (x) => x.actor.endsWith("/cap/app:1"));
    expect(changeOf(observe(e)!, APP_ID)).toEqual({
      arrivals: [{ at: at(e), id: APP_ID, ref: e.actor, how: "pull" }],
    });
  });

  it("gone needs no lookup", () => {
    const e = find("image", "delete", (x) => x.actor === APP_ID);
    expect(changeOf(observe(e)!, undefined)).toEqual({ gone: [{ at: at(e), id: APP_ID }] });
  });

  it("an image that could not be resolved (gone before the lookup) records nothing", () => {
    for (const e of [find("image", "pull"), find("container", "start")]) {
      const c = changeOf(observe(e)!, undefined);
      expect(c).toEqual({});
      expect(isEmptyChange(c)).toBe(true);
    }
    expect(isEmptyChange({ sighting: { at: 1, present: [] } })).toBe(false);
    expect(isEmptyChange({ gone: [{ at: 1, id: "x" }] })).toBe(false);
  });
});
