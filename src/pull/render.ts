// Showing a prepull: a line per image as it finishes (readable on a TTY, pino log records
// otherwise, which journald and CI keep), and a summary. The --json document is the report itself.
import { human, logger } from "../log.js";
import { formatDuration } from "../util/duration.js";
import { HINTS } from "./classify.js";
import type { PlannedImage } from "./plan.js";
import type { ImageResult, PrepullReport } from "./report.js";

const MARK: Record<ImageResult["action"], string> = {
  present: "=",
  pulled: "+",
  failed: "x",
  "not-attempted": "-",
};

export function imageLine(r: ImageResult): string {
  const where = `${r.service} in ${r.file}`;
  const base = `${MARK[r.action]} ${r.action.padEnd(13)} ${r.ref}  (${where})`;
  if (r.action === "pulled")
    return `${base} ${formatDuration(r.durationMs)}${r.attempts > 1 ? `, ${r.attempts} attempts` : ""}`;
  if (r.action === "failed") {
    const hint = r.errorClass ? `\n      fix: ${HINTS[r.errorClass]}` : "";
    return `${base}\n      ${r.errorClass ?? "stopped"}: ${r.error ?? ""}${hint}`;
  }
  if (r.action === "not-attempted" && r.error) return `${base}: ${r.error}`;
  if (r.warning) return `${base}\n      warning: ${r.warning}`;
  return base;
}

export function reportResult(r: ImageResult, tty: boolean, write: (s: string) => void): void {
  if (tty) {
    write(`${imageLine(r)}\n`);
    return;
  }
  const { action, ref, service, file, attempts, durationMs, errorClass, error, id, digest, warning } = r;
  const fields = { ref, service, file, action, attempts, durationMs, errorClass, error, id, digest };
  if (action === "failed")
    logger().error({ ...fields, hint: errorClass ? HINTS[errorClass] : undefined }, "image failed");
  else if (warning)
    logger().warn(human({ ...fields, warning }, ["ref", "warning"]), `image ${action}, with a warning`);
  else logger().info(fields, `image ${action}`);
}

export function summary(rep: PrepullReport): string {
  const count = (a: ImageResult["action"]) => rep.images.filter((i) => i.action === a).length;
  const classes = [...new Set(rep.images.flatMap((i) => (i.errorClass ? [i.errorClass] : [])))];
  const parts = [`${count("present")} present`, `${count("pulled")} pulled`, `${count("failed")} failed`];
  if (count("not-attempted")) parts.push(`${count("not-attempted")} not attempted`);
  const what = `${rep.recipe ?? ""}${rep.ref ? `@${rep.ref}` : ""}`;
  return `prepull${what ? ` ${what}` : ""}: ${rep.images.length} image${rep.images.length === 1 ? "" : "s"}, ${parts.join(", ")}${classes.length ? ` (${classes.join(", ")})` : ""} in ${formatDuration(rep.durationMs ?? 0)}: ${rep.ok ? "ok" : "FAILED"}`;
}

export function planText(plan: readonly PlannedImage[]): string {
  return plan
    .map(
      (p) =>
        `${p.action === "pull" ? "pull" : "skip"}  ${p.ref}  (${p.service} in ${p.file}): ${p.reason}${p.digest ? `  [${p.digest}]` : ""}${p.warning ? `\n      warning: ${p.warning}` : ""}`,
    )
    .join("\n");
}
