// What the daemon says, turned into the planner's facts (src/prune/facts.ts), from Engine API JSON
// as dockerd 20.10 (API 1.41) really returns it: test/fixtures/engine-api-1.41/facts.json was
// captured once from a private test daemon (test/support/testbed.ts) after pulling
// 127.0.0.1:PORT/cap/app:1 and :2 from a private registry, pushing and pulling :1 again (the first
// :1 keeps its digest, loses its tag: RepoTags null), building cap/local:dev twice (the first build
// dangles: "<none>:<none>" and "<none>@<none>"), `docker create --name web`, and two swarm
// services, `stable` and `moved` (`docker service update --image`: it has a PreviousSpec). The
// fixture goes through the Engine client's own zod schemas first, as the daemon's answers do.
// readImages is tested with an object that has only listImages/inspectImage: what is under test
// is our batching of inspects (8 at once, in list order, an image gone in between), not Docker.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  containerSummarySchema,
  type Engine,
  type ImageInspect,
  type ImageSummary,
  imageSummarySchema,
  serviceSchema,
} from "../../src/docker/engine.js";
import { containerFact, imageFact, readImages, serviceFact } from "../../src/prune/facts.js";

const raw = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "../fixtures/engine-api-1.41/facts.json"), "utf8"),
) as {
  version: { ApiVersion: string };
  images: unknown;
  inspect: Record<string, { Metadata: { LastTagTime: string } }>;
  containers: unknown;
  services: unknown;
};
const images = z.array(imageSummarySchema).parse(raw.images);
const containers = z.array(containerSummarySchema).parse(raw.containers);
const services = z.array(serviceSchema).parse(raw.services);

const REG = "127.0.0.1:45467/cap/app";
const byId = (prefix: string) => images.find((i) => i.Id.startsWith(`sha256:${prefix}`))!;
const lastTag = (s: ImageSummary) => raw.inspect[s.Id]!.Metadata.LastTagTime;

describe("imageFact, from API 1.41's image list", () => {
  it("the fixture is what API 1.41 answers", () => {
    expect(raw.version.ApiVersion).toBe("1.41");
  });

  it.each([
    [
      "a local build: its tag, no digest (RepoDigests null), tagged at build time",
      "5a3171",
      {
        repoTags: ["cap/local:dev"],
        repoDigests: [],
        sizeBytes: 1_982_256,
        createdMs: 1_796_059_276_000,
        lastTagTimeMs: Date.UTC(2026, 10, 30, 17, 21, 16, 686),
      },
    ],
    [
      "the rebuild's predecessor: dangling, the <none> placeholders are no names",
      "8183ac",
      {
        repoTags: [],
        repoDigests: [],
        sizeBytes: 1_982_256,
        createdMs: 1_796_059_274_000,
        lastTagTimeMs: Date.UTC(2026, 10, 30, 17, 21, 14, 930),
      },
    ],
    [
      "a pulled image whose tag moved on: RepoTags null, its digest kept; never tagged locally",
      "380acf",
      {
        repoTags: [],
        repoDigests: [`${REG}@sha256:465a81ca97b6e7ad27d533a93c876b6fb67bc837d18d63284aaba2abcd713138`],
        sizeBytes: 2_047_801,
        createdMs: Date.UTC(2024, 0, 1),
        lastTagTimeMs: null,
      },
    ],
    [
      "a pulled image: its tag and its digest",
      "9df6f6",
      {
        repoTags: [`${REG}:2`],
        repoDigests: [`${REG}@sha256:734de66d8d6dc65ffcf63a09cfea937f85755d26b2fbee9b687acaffc5f65641`],
        sizeBytes: 2_047_801,
        createdMs: Date.UTC(2024, 0, 1),
        lastTagTimeMs: null,
      },
    ],
  ])("%s", (_, id, want) => {
    const s = byId(id);
    expect(imageFact(s, lastTag(s))).toEqual({ id: s.Id, ...want });
  });
});

describe("containerFact, from API 1.41's container list", () => {
  const web = containers.find((c) => c.Names?.[0] === "/web")!;
  const task = containers.find((c) => c.Id.startsWith("390d4599"))!;

  it.each([
    [
      "a named container: the leading slash dropped",
      web,
      {
        id: "452cfdc0fbd652256a4bc0affafd8689d13e93f497aec1d68e38edf67561dfa7",
        name: "web",
        imageId: "sha256:9df6f60fd3c9f1ea203ef7b9af20f6b59fb2581f35bfc58ba07cf940ae7cfa85",
        image: `${REG}:2`,
        state: "created",
      },
    ],
    [
      "a swarm task: the image by tag and digest, as the service resolved it",
      task,
      {
        id: "390d4599faf7e7dee91de51a83f4d894e70508e8cf409e198945ee8b230a43ef",
        name: "moved.1.pkovz5xa3jl0czqil5l3tygqn",
        imageId: "sha256:571dbc10e94248fe23a0e9899703fea8cd5425951404027ddc4c55f4f582ec32",
        image: `${REG}:1@sha256:b0a7ab7952b7f8690e46c02cbd7e1087a2464a17ee6047ff3e7f932fc033c6f5`,
        state: "created",
      },
    ],
  ])("%s", (_, c, want) => {
    expect(containerFact(c)).toEqual(want);
  });

  it.each([
    // Not what the daemon sends, but what the schema allows: the short ID, an unknown state.
    ["no Names: the short ID", { Names: undefined }, "452cfdc0fbd6", "created"],
    ["no State", { State: undefined }, "web", "unknown"],
    ["only a leading slash is dropped", { Names: ["web/db"] }, "web/db", "created"],
  ])("%s", (_, over, name, state) => {
    const f = containerFact({ ...web, ...over });
    expect([f.name, f.state]).toEqual([name, state]);
  });
});

describe("serviceFact, from API 1.41's service list", () => {
  it.each([
    [
      "updated: its image and the one it would roll back to",
      "moved",
      {
        id: "u7vx4tf90m4h5wh2cdw3aesap",
        name: "moved",
        image: `${REG}:1@sha256:b0a7ab7952b7f8690e46c02cbd7e1087a2464a17ee6047ff3e7f932fc033c6f5`,
        previousImage: `${REG}:2@sha256:734de66d8d6dc65ffcf63a09cfea937f85755d26b2fbee9b687acaffc5f65641`,
      },
    ],
    [
      "never updated: no PreviousSpec",
      "stable",
      {
        id: "w0kq8gbwptm3ekuwxdnwr8ujo",
        name: "stable",
        image: `${REG}:2@sha256:734de66d8d6dc65ffcf63a09cfea937f85755d26b2fbee9b687acaffc5f65641`,
        previousImage: null,
      },
    ],
  ])("%s", (_, name, want) => {
    expect(serviceFact(services.find((s) => s.Spec.Name === name)!)).toEqual(want);
  });
});

describe("readImages: every listed image inspected, 8 at a time", () => {
  const summary = (i: number): ImageSummary => ({
    Id: `sha256:${String(i).padStart(64, "0")}`,
    RepoTags: [`app:${i}`],
    RepoDigests: null,
    Created: 1_700_000_000 + i,
    Size: 1000 + i,
  });

  /** An engine that lists `n` images; `gone` are removed between the list and their inspect. */
  function engine(n: number, gone: number[] = []) {
    const list = Array.from({ length: n }, (_, i) => summary(i));
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const e = {
      listImages: () => Promise.resolve(list),
      inspectImage: async (id: string): Promise<ImageInspect | undefined> => {
        calls.push(id);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((ok) => setImmediate(ok));
        inFlight--;
        const i = list.findIndex((s) => s.Id === id);
        return gone.includes(i)
          ? undefined
          : { Id: id, Metadata: { LastTagTime: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString() } };
      },
    };
    return { engine: e as unknown as Engine, calls, list, max: () => maxInFlight };
  }

  it.each([
    [0, [], 0],
    [1, [], 1],
    [8, [], 8],
    [17, [], 8],
    [20, [3, 19], 8],
  ])("%i images, %j gone: at most %i inspects at once", async (n, gone, most) => {
    const t = engine(n, gone);
    const facts = await readImages(t.engine);
    expect(t.calls).toEqual(t.list.map((s) => s.Id));
    expect(t.max()).toBe(most);
    const kept = Array.from({ length: n }, (_, i) => i).filter((i) => !gone.includes(i));
    expect(facts.map((f) => f.id)).toEqual(kept.map((i) => t.list[i]!.Id));
    expect(facts.map((f) => f.lastTagTimeMs)).toEqual(kept.map((i) => Date.UTC(2025, 0, 1, 0, 0, i)));
    expect(facts.map((f) => f.repoTags)).toEqual(kept.map((i) => [`app:${i}`]));
  });
});
