// The testbed itself: a private dockerd pulls an image pushed to a private registry, both by a
// direct reference and by a Docker Hub name served through the registry mirror.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Daemon, pushImage, type Registry, startDaemon, startRegistry } from "../support/testbed.js";

describe("testbed", () => {
  let reg: Registry;
  let d: Daemon;
  beforeAll(async () => {
    reg = await startRegistry();
    d = await startDaemon({ mirrors: [reg.url] });
  });
  afterAll(async () => {
    await d?.stop();
    await reg?.stop();
  });

  it("pulls a pushed image directly and a Hub name through the mirror", async () => {
    const img = await pushImage(reg.host, "demo/app", "1.0", { sizeBytes: 1024 });
    d.docker(["pull", img.ref]);
    const id = d.docker(["image", "inspect", "--format", "{{.Id}}", img.ref]).trim();
    expect(id).toBe(img.id);
    const hub = await pushImage(reg.host, "library/nginx", "1.25", { sizeBytes: 1024 });
    d.docker(["pull", "nginx:1.25"]);
    expect(d.docker(["image", "inspect", "--format", "{{.Id}}", "nginx:1.25"]).trim()).toBe(hub.id);
  });

  it("runs a container from a pushed image", () => {
    const out = d.docker(["run", "--rm", "--network", "none", "nginx:1.25", "/bin/busybox", "echo", "hello"]);
    expect(out.trim()).toBe("hello");
  });
});
