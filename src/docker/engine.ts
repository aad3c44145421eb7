// Docker Engine API client over the daemon socket. Queries (is this image here? how full is the
// disk? which containers and services name which images?) go through the API: no process spawn,
// which is most of what a warm prepull costs. Pulls go through the API too (POST /images/create,
// with the pulling user's credentials in X-Registry-Auth), for their per-layer progress; removals
// (rm, prune) go through the docker CLI in src/docker/cli.ts.
// Every response is validated with zod; we never cast CLI or API JSON.
import { z } from "zod";
import { DaemonUnavailableError, ToolError } from "../errors.js";
import {
  ConnectError,
  type Endpoint,
  http10,
  http10Stream,
  type RawResponse,
  type StreamResult,
} from "./http10.js";

export type { Endpoint };

/** Where the daemon listens, as the docker client would find it (DOCKER_HOST, else the default socket). */
export function dockerEndpoint(env: NodeJS.ProcessEnv = process.env): Endpoint {
  const h = env.DOCKER_HOST;
  if (!h) return { socketPath: "/var/run/docker.sock" };
  if (h.startsWith("unix://")) return { socketPath: h.slice("unix://".length) };
  const m = /^tcp:\/\/([^:/]+)(?::(\d+))?\/?$/.exec(h);
  if (m && !env.DOCKER_TLS_VERIFY) return { host: m[1]!, port: Number(m[2] ?? 2375) };
  throw new DaemonUnavailableError(`DOCKER_HOST=${h} is not supported by imagekeeper's API client`, {
    hint: "Use a unix:// socket or a plain tcp:// address (no TLS, no ssh://) in DOCKER_HOST.",
  });
}

export class Engine {
  constructor(
    readonly endpoint: Endpoint = dockerEndpoint(),
    private readonly timeoutMs = 30_000,
  ) {}

  describe(): string {
    return "socketPath" in this.endpoint
      ? `unix://${this.endpoint.socketPath}`
      : `tcp://${this.endpoint.host}:${this.endpoint.port}`;
  }

  /** GET a JSON document; undefined on 404. */
  async get<T extends z.ZodType>(path: string, schema: T): Promise<z.output<T> | undefined> {
    const { status, body } = await this.request("GET", path);
    if (status === 404) return undefined;
    if (status < 200 || status >= 300) {
      throw new ToolError(`docker API GET ${path} answered ${status}: ${body.slice(0, 300)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (e) {
      throw new ToolError(`docker API GET ${path} returned invalid JSON`, { cause: e });
    }
    const r = schema.safeParse(json);
    if (!r.success)
      throw new ToolError(`docker API GET ${path} returned an unexpected document: ${r.error.message}`);
    return r.data;
  }

  private async request(method: string, path: string): Promise<RawResponse> {
    try {
      return await http10(this.endpoint, method, path, this.timeoutMs);
    } catch (e) {
      const code = e instanceof ConnectError ? e.code : undefined;
      throw new DaemonUnavailableError(
        `cannot reach the Docker daemon at ${this.describe()}: ${code ?? (e as Error).message}`,
        { cause: e },
      );
    }
  }

  inspectImage(ref: string): Promise<ImageInspect | undefined> {
    return this.get(`/images/${encodeURIComponent(ref)}/json`, imageInspectSchema);
  }

  async info(): Promise<Info> {
    return (await this.get("/info", infoSchema))!;
  }

  async listImages(): Promise<ImageSummary[]> {
    return (await this.get("/images/json", z.array(imageSummarySchema))) ?? [];
  }

  async listContainers(): Promise<ContainerSummary[]> {
    return (await this.get("/containers/json?all=1", z.array(containerSummarySchema))) ?? [];
  }

  /** One container (labels, image ID, state times); undefined when it is gone. */
  inspectContainer(id: string): Promise<ContainerInspect | undefined> {
    return this.get(`/containers/${encodeURIComponent(id)}/json`, containerInspectSchema);
  }

  /** Containers of any state, with their labels and creation time (for `imagekeeper watch`). */
  async listContainersLabelled(): Promise<ContainerListed[]> {
    return (await this.get("/containers/json?all=1", z.array(containerListedSchema))) ?? [];
  }

  /**
   * Follow the event stream (GET /events): each line the daemon writes (one JSON message) is handed
   * to `onLine` as it arrives. Resolves when the daemon closes the stream (it stopped, or `until`
   * passed) or `signal` aborts it; a daemon that cannot be reached is a DaemonUnavailableError.
   * `since`/`until` are Unix times as the API takes them ("SECONDS.NANOSECONDS"); the daemon
   * replays the events it still holds from `since` on (inclusive), then streams new ones.
   */
  async events(
    q: { since?: string; until?: string; filters?: Record<string, string[]> },
    onLine: (line: string) => void,
    opts: { signal?: AbortSignal; idleTimeoutMs?: number } = {},
  ): Promise<void> {
    const params = new URLSearchParams();
    if (q.since !== undefined) params.set("since", q.since);
    if (q.until !== undefined) params.set("until", q.until);
    if (q.filters) params.set("filters", JSON.stringify(q.filters));
    const path = `/events${params.size ? `?${params.toString()}` : ""}`;
    let r: Awaited<ReturnType<typeof http10Stream>>;
    try {
      r = await http10Stream(
        this.endpoint,
        {
          method: "GET",
          path,
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
        },
        onLine,
      );
    } catch (e) {
      const code = e instanceof ConnectError ? e.code : undefined;
      throw new DaemonUnavailableError(
        `cannot follow the Docker daemon's events at ${this.describe()}: ${code ?? (e as Error).message}`,
        { cause: e },
      );
    }
    if (r.status !== 0 && (r.status < 200 || r.status >= 300))
      throw new ToolError(`docker API GET ${path} answered ${r.status}: ${r.body.slice(0, 300)}`);
  }

  /** Swarm services; empty when this node is not a swarm manager. */
  async listServices(): Promise<ServiceSummary[]> {
    const { status, body } = await this.request("GET", "/services");
    if (status === 503 || status === 406) return []; // not a swarm manager
    if (status !== 200)
      throw new ToolError(`docker API GET /services answered ${status}: ${body.slice(0, 300)}`);
    return z.array(serviceSchema).parse(JSON.parse(body));
  }

  // ---- Pulls and registry settings (prepull, issue 9) ----------------------------------------

  /**
   * POST /images/create: the daemon pulls `name` at `tagOrDigest`, and each line of its JSON
   * progress stream goes to `onLine` as it arrives. `registryAuth` is the X-Registry-Auth header
   * (src/auth/credentials.ts registryAuthHeader). Aborting closes the connection; the daemon then
   * cancels the pull (the request's context ends with it). A non-2xx answer comes back with its
   * body (the daemon's error document); a failure after a 200 is an error line in the stream.
   * Throws ConnectError when the daemon cannot be reached.
   */
  pullImage(
    name: string,
    tagOrDigest: string,
    opts: { registryAuth?: string | undefined; signal?: AbortSignal; onLine: (line: string) => void },
  ): Promise<StreamResult> {
    const q = `fromImage=${encodeURIComponent(name)}&tag=${encodeURIComponent(tagOrDigest)}`;
    return http10Stream(
      this.endpoint,
      {
        method: "POST",
        path: `/images/create?${q}`,
        headers: opts.registryAuth ? { "X-Registry-Auth": opts.registryAuth } : {},
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      opts.onLine,
    );
  }

  /**
   * GET /system/df: what `docker system df` shows. Only LayersSize is read (image layers on disk,
   * shared layers once). On API < 1.42 (dockerd 20.10) there is no `type=` filter: the daemon
   * also sizes containers and volumes, which takes a while on a host with big volumes.
   */
  async layersSize(): Promise<number | undefined> {
    // Streamed: http10() half-closes its side after the request, and the daemon cancels a request
    // whose client closed (Go's net/http sees EOF on its background read): fine for a quick
    // answer, but /system/df takes long enough to be cancelled ("context canceled", 500).
    const lines: string[] = [];
    const r = await http10Stream(
      this.endpoint,
      { method: "GET", path: "/system/df?type=image", idleTimeoutMs: this.timeoutMs },
      (l) => lines.push(l),
    );
    if (r.status < 200 || r.status >= 300) return undefined;
    const doc = systemDfSchema.safeParse(JSON.parse(lines.join("\n")));
    return doc.success ? (doc.data.LayersSize ?? undefined) : undefined;
  }

  /** The daemon's registry settings (mirrors, insecure registries), from GET /info. */
  async registryConfig(): Promise<RegistryConfig | undefined> {
    return (await this.info()).RegistryConfig ?? undefined;
  }
}

export const imageInspectSchema = z.looseObject({
  Id: z.string(),
  RepoTags: z.array(z.string()).nullish(),
  RepoDigests: z.array(z.string()).nullish(),
  Created: z.string().optional(),
  Size: z.number().optional(),
  Metadata: z.looseObject({ LastTagTime: z.string().nullish() }).nullish(),
});
export type ImageInspect = z.output<typeof imageInspectSchema>;

// GET /info's RegistryConfig: `registry-mirrors` and `insecure-registries` (CIDRs and names).
export const registryConfigSchema = z.looseObject({
  Mirrors: z.array(z.string()).nullish(),
  InsecureRegistryCIDRs: z.array(z.string()).nullish(),
  IndexConfigs: z
    .record(z.string(), z.looseObject({ Name: z.string().optional(), Secure: z.boolean().optional() }))
    .nullish(),
});
export type RegistryConfig = z.output<typeof registryConfigSchema>;

export const infoSchema = z.looseObject({
  DockerRootDir: z.string(),
  RegistryConfig: registryConfigSchema.nullish(),
  ServerVersion: z.string().optional(),
  Driver: z.string().optional(),
  Swarm: z
    .looseObject({ LocalNodeState: z.string().optional(), ControlAvailable: z.boolean().optional() })
    .optional(),
});
export type Info = z.output<typeof infoSchema>;

export const imageSummarySchema = z.looseObject({
  Id: z.string(),
  RepoTags: z.array(z.string()).nullish(),
  RepoDigests: z.array(z.string()).nullish(),
  Created: z.number(),
  Size: z.number(),
  Containers: z.number().optional(),
  ParentId: z.string().optional(),
});
export type ImageSummary = z.output<typeof imageSummarySchema>;

export const containerSummarySchema = z.looseObject({
  Id: z.string(),
  Image: z.string(),
  ImageID: z.string(),
  State: z.string().optional(),
  Names: z.array(z.string()).optional(),
});
export type ContainerSummary = z.output<typeof containerSummarySchema>;

export const containerListedSchema = containerSummarySchema.extend({
  Labels: z.record(z.string(), z.string()).nullish(),
  /** Creation time, Unix seconds. */
  Created: z.number().optional(),
});
export type ContainerListed = z.output<typeof containerListedSchema>;

export const containerInspectSchema = z.looseObject({
  Id: z.string(),
  /** The image ID (sha256:…), whatever name the container was created with. */
  Image: z.string(),
  Created: z.string().optional(),
  Config: z.looseObject({ Labels: z.record(z.string(), z.string()).nullish() }).nullish(),
  State: z
    .looseObject({
      Running: z.boolean().optional(),
      StartedAt: z.string().optional(),
      FinishedAt: z.string().optional(),
    })
    .nullish(),
});
export type ContainerInspect = z.output<typeof containerInspectSchema>;

const containerSpec = z.looseObject({
  TaskTemplate: z
    .looseObject({ ContainerSpec: z.looseObject({ Image: z.string().optional() }).optional() })
    .optional(),
});
export const serviceSchema = z.looseObject({
  ID: z.string(),
  Spec: z.looseObject({ Name: z.string().optional() }).and(containerSpec),
  PreviousSpec: containerSpec.nullish(),
});
export type ServiceSummary = z.output<typeof serviceSchema>;

export const systemDfSchema = z.looseObject({ LayersSize: z.number().nullish() });
