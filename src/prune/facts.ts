// What the daemon says, turned into the planner's plain facts: images (with Metadata.LastTagTime,
// which only the inspect endpoint reports), containers of any state, and swarm service specs with
// their previous (rollback) specs. Reads only, through the Engine API.
import type { ContainerSummary, Engine, ImageSummary, ServiceSummary } from "../docker/engine.js";
import { type ContainerFact, type ImageFact, parseLastTagTime, type ServiceFact } from "./plan.js";

/** Inspect calls in flight at once: enough to hide latency, little load on the daemon. */
const INSPECT_CONCURRENCY = 8;

// API 1.41 (engine 20.10) lists a fully dangling image with these placeholders, newer versions with
// empty lists; an image whose tag moved away but that keeps its digest has RepoTags null, and a
// locally built one RepoDigests null (test/fixtures/engine-api-1.41/facts.json, captured).
const realTags = (t: readonly string[] | null | undefined) => (t ?? []).filter((x) => x !== "<none>:<none>");
const realDigests = (d: readonly string[] | null | undefined) =>
  (d ?? []).filter((x) => x !== "<none>@<none>");

export function imageFact(s: ImageSummary, lastTagTime: string | null | undefined): ImageFact {
  return {
    id: s.Id,
    repoTags: realTags(s.RepoTags),
    repoDigests: realDigests(s.RepoDigests),
    sizeBytes: s.Size,
    createdMs: s.Created * 1000,
    lastTagTimeMs: parseLastTagTime(lastTagTime),
  };
}

export function containerFact(c: ContainerSummary): ContainerFact {
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ""),
    imageId: c.ImageID,
    image: c.Image,
    state: c.State ?? "unknown",
  };
}

export function serviceFact(s: ServiceSummary): ServiceFact {
  return {
    id: s.ID,
    name: s.Spec.Name ?? s.ID,
    image: s.Spec.TaskTemplate?.ContainerSpec?.Image ?? null,
    previousImage: s.PreviousSpec?.TaskTemplate?.ContainerSpec?.Image ?? null,
  };
}

/** Images without their LastTagTime: enough for recording first sightings. */
export async function listImageIds(engine: Engine): Promise<string[]> {
  return (await engine.listImages()).map((i) => i.Id);
}

export async function readImages(engine: Engine): Promise<ImageFact[]> {
  const summaries = await engine.listImages();
  const out: ImageFact[] = [];
  for (let i = 0; i < summaries.length; i += INSPECT_CONCURRENCY) {
    const batch = summaries.slice(i, i + INSPECT_CONCURRENCY);
    const inspected = await Promise.all(batch.map((s) => engine.inspectImage(s.Id)));
    batch.forEach((s, j) => {
      const ins = inspected[j];
      // Gone between list and inspect: removed by someone else, nothing to plan.
      if (ins) out.push(imageFact(s, ins.Metadata?.LastTagTime));
    });
  }
  return out;
}

export async function readContainers(engine: Engine): Promise<ContainerFact[]> {
  return (await engine.listContainers()).map(containerFact);
}

export async function readServices(engine: Engine): Promise<ServiceFact[]> {
  return (await engine.listServices()).map(serviceFact);
}
