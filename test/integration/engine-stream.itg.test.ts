// The streaming Engine API request (src/docker/http10.ts http10Stream) against a real daemon: pull
// progress arrives line by line, the event stream delivers the pull, an error answer keeps its
// body, and an abort ends a stream that would otherwise never close.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http10Stream } from "../../src/docker/http10.js";
import { type Daemon, pushImage, type Registry, startDaemon, startRegistry } from "../support/testbed.js";

describe("http10Stream", () => {
  let reg: Registry;
  let d: Daemon;
  beforeAll(async () => {
    reg = await startRegistry();
    d = await startDaemon();
  });
  afterAll(async () => {
    await d?.stop();
    await reg?.stop();
  });

  it("streams a pull's progress, then the event stream has the pull", async () => {
    const img = await pushImage(reg.host, "s/app", "1", { sizeBytes: 200_000 });
    const since = Math.floor(Date.now() / 1000) - 1;
    const lines: string[] = [];
    const r = await http10Stream(
      { socketPath: d.socket },
      { method: "POST", path: `/images/create?fromImage=${encodeURIComponent(`${reg.host}/s/app`)}&tag=1` },
      (l) => lines.push(l),
    );
    expect(r.status).toBe(200);
    const msgs = lines.map((l) => JSON.parse(l) as { status?: string });
    expect(msgs.length).toBeGreaterThan(2);
    expect(msgs.some((m) => /Downloaded newer image|Image is up to date/.test(m.status ?? ""))).toBe(true);
    expect(d.docker(["image", "inspect", "--format", "{{.Id}}", img.ref]).trim()).toBe(img.id);

    const until = Math.floor(Date.now() / 1000) + 1;
    const events: { Type: string; Action: string; id?: string }[] = [];
    const e = await http10Stream(
      { socketPath: d.socket },
      { method: "GET", path: `/events?since=${since}&until=${until}` },
      (l) => events.push(JSON.parse(l) as { Type: string; Action: string }),
    );
    expect(e.status).toBe(200);
    expect(events).toContainEqual(expect.objectContaining({ Type: "image", Action: "pull" }));
  });

  it("keeps a non-2xx answer's body for the error message", async () => {
    const r = await http10Stream(
      { socketPath: d.socket },
      { method: "POST", path: `/images/create?fromImage=${encodeURIComponent(`${reg.host}/no/such`)}&tag=1` },
      () => {
        throw new Error("no line expected");
      },
    );
    // The daemon answers 404 (not found) before streaming, with its error document.
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.body).toMatch(/not found|manifest unknown|no such/i);
  });

  it("an abort ends an open event stream", async () => {
    const ac = new AbortController();
    const p = http10Stream(
      { socketPath: d.socket },
      { method: "GET", path: "/events", signal: ac.signal },
      () => {},
    );
    setTimeout(() => ac.abort(), 300);
    const r = await p;
    expect(r.status).toBe(200);
  });
});
