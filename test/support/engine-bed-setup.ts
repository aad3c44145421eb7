// globalSetup of vitest.config.mutation-engine.ts: one engine bed (engine-bed.ts) per Vitest
// instance, which is one per Stryker test runner: every mutant run of that runner reuses it, and
// its teardown stops it by PID when the runner closes.
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { type EngineBedInfo, startEngineBed } from "./engine-bed.js";

declare module "vitest" {
  export interface ProvidedContext {
    engineBed: EngineBedInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bed = await startEngineBed();
  project.provide("engineBed", bed.info);
  return () => bed.stop();
}
