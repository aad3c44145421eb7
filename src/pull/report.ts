// The prepull report: plain data, printed by --json and read by the CI harness, the metrics
// writer and the tests. The zod schema is the contract (docs/prepull.md documents it).
import { z } from "zod";
import type { VersionSource } from "../model/use.js";

export const ERROR_CLASSES = [
  "rate-limited",
  "throttled",
  "not-found",
  "unauthorized",
  "denied",
  "bad-reference",
  "tls",
  "disk-full",
  "daemon-unavailable",
  "unsupported",
  "registry-unavailable",
  "network",
  "timeout",
  /** SIGINT/SIGTERM stopped the pull (the connection was closed, and the daemon cancelled it). */
  "interrupted",
  "unknown",
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

export const imageResultSchema = z.object({
  ref: z.string(),
  service: z.string(),
  file: z.string(),
  action: z.enum(["present", "pulled", "failed", "not-attempted"]),
  attempts: z.number().int().min(0),
  durationMs: z.number().int().min(0),
  errorClass: z.enum(ERROR_CLASSES).optional(),
  error: z.string().optional(),
  /** Image ID after the prepull (present or pulled). */
  id: z.string().optional(),
  /** Why the planner chose to pull or skip (e.g. "pinned tag present", "mutable tag"). */
  reason: z.string().optional(),
  /** Other services/files naming the same image. */
  alsoUsedBy: z.array(z.object({ service: z.string(), file: z.string() })).optional(),
  /**
   * The manifest digest the deploy will use: the registry's current digest for a tag (what
   * `stack deploy` pins), the reference's own, or the one a pull fetched.
   */
  digest: z.string().optional(),
  /** Worth knowing but not a failure: the registry could not be asked, the local image is used. */
  warning: z.string().optional(),
  /** Time the pull waited for one of the daemon's download slots (max-concurrent-downloads). */
  waitMs: z.number().int().min(0).optional(),
  /** Time the pull made progress: its attempts' time less waitMs (backoff pauses excluded). */
  pullMs: z.number().int().min(0).optional(),
  /** Layer bytes downloaded (layers already in the store count nothing). */
  bytes: z.number().int().min(0).optional(),
});
export type ImageResult = z.output<typeof imageResultSchema>;

/** Where the resolved recipe version came from (docs/prepull.md "Which version"). */
export const VERSION_SOURCES = [
  "pinned",
  "ref",
  "chaos",
  "working-tree",
] as const satisfies readonly VersionSource[];

/** A registry's pull quota as this prepull saw it (Docker Hub's ratelimit headers). */
export const quotaReportSchema = z.object({
  registry: z.string(),
  endpoint: z.string(),
  limit: z.number().int().min(0),
  remaining: z.number().int().min(0),
  windowSeconds: z.number().int().min(0).optional(),
  /** ISO time by which the window has reset. */
  resetBy: z.string().optional(),
  /** What the pulls count against: an IP address or an account. */
  source: z.string().optional(),
  /** Pulls this prepull needed from that registry. */
  needed: z.number().int().min(0),
});
export type QuotaReport = z.output<typeof quotaReportSchema>;

export const prepullReportSchema = z.object({
  ok: z.boolean(),
  recipe: z.string().optional(),
  /** The --ref given, else null. */
  ref: z.string().nullable().optional(),
  /** The recipe version resolved: the pin or --ref; HEAD's short commit for the working tree; null outside git. */
  version: z.string().nullable().optional(),
  versionSource: z.enum(VERSION_SOURCES).optional(),
  dryRun: z.boolean().optional(),
  durationMs: z.number().int().min(0).optional(),
  pullPolicy: z.enum(["auto", "missing", "always"]).optional(),
  /** Registries whose answers carried a pull quota. */
  quota: z.array(quotaReportSchema).optional(),
  images: z.array(imageResultSchema),
});
export type PrepullReport = z.output<typeof prepullReportSchema>;
