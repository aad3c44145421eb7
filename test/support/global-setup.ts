// Integration prerequisites, checked once: the engine, the registry and busybox must be installed
// (.ci/run installs them), and the CLI is bundled fresh so tests run exactly what ships.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { BUSYBOX, DOCKER_CLI, DOCKERD, REGISTRY } from "./testbed.js";

declare module "vitest" {
  export interface ProvidedContext {
    imagekeeperBin: string;
  }
}

export default function setup(project: TestProject): void {
  const missing = [DOCKERD, REGISTRY, BUSYBOX].filter((p) => !existsSync(p));
  if (missing.length) {
    throw new Error(
      `integration tests need ${missing.join(", ")}: run .ci/run, or apt-get install docker.io docker-registry busybox-static`,
    );
  }
  try {
    execFileSync(DOCKER_CLI, ["stack", "config", "--help"], { stdio: "ignore" });
  } catch {
    throw new Error(
      `the docker client "${DOCKER_CLI}" has no 'docker stack config' (needs docker CLI >= 23); set IMAGEKEEPER_TEST_DOCKER`,
    );
  }
  const out = path.join(mkdtempSync(path.join(tmpdir(), "ikbin-")), "imagekeeper.mjs");
  execFileSync(process.execPath, ["scripts/build.mjs", "--outfile", out], { stdio: "inherit" });
  project.provide("imagekeeperBin", out);
}
