// docs/nixos.md shows what the tests evaluate: each ```nix or ```yaml block that starts with
// `# examples/nixos/FILE` is that file, whole (test/nix/nixos.test.ts evaluates the .nix ones in a
// whole NixOS system); every file of examples/nixos/ is shown; every other Nix snippet parses;
// the workflows parse and name the runners their recipes define.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { NIX_MISSING, REPO, SKIP_NIX, parses } from "./support.js";

const DOC = readFileSync(path.join(REPO, "docs/nixos.md"), "utf8");
const EXAMPLES = path.join(REPO, "examples/nixos");

interface Block {
  lang: string;
  body: string;
  file?: string;
}
const blocks: Block[] = [...DOC.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => {
  const body = m[2]!;
  const file = /^# (examples\/nixos\/\S+)/.exec(body)?.[1];
  return { lang: m[1]!, body, ...(file ? { file } : {}) };
});
const example = (name: string) => readFileSync(path.join(EXAMPLES, name), "utf8");

describe("docs/nixos.md and examples/nixos/", () => {
  it("shows every file of examples/nixos/, whole", () => {
    const shown = blocks.filter((b) => b.file).map((b) => b.file);
    expect(shown.sort()).toEqual(
      readdirSync(EXAMPLES)
        .map((f) => `examples/nixos/${f}`)
        .sort(),
    );
    for (const b of blocks.filter((x) => x.file))
      expect(b.body, b.file).toBe(readFileSync(path.join(REPO, b.file!), "utf8"));
  });

  it.skipIf(SKIP_NIX)("every other Nix snippet parses, as a file or as the body of a module", () => {
    if (NIX_MISSING) throw new Error(NIX_MISSING);
    const dir = mkdtempSync(path.join(tmpdir(), "iknixdoc-"));
    const others = blocks.filter((b) => b.lang === "nix" && !b.file);
    expect(others.length).toBeGreaterThanOrEqual(3);
    others.forEach((b, i) => {
      const whole = path.join(dir, `${i}.nix`);
      const body = path.join(dir, `${i}-body.nix`);
      writeFileSync(whole, b.body);
      writeFileSync(body, `{ config, lib, pkgs, ... }: {\n${b.body}}\n`);
      expect(parses(whole) || parses(body), b.body).toBe(true);
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it("the workflows parse, wrap the recipe in `imagekeeper run --`, and target their runners", () => {
    const steps = (wf: { jobs: Record<string, { steps: { run?: string }[] }> }) =>
      Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ""));

    const woodpecker = parse(example("woodpecker-pipeline.yml")) as {
      labels: { backend: string };
      steps: { image: string; commands: string[] }[];
    };
    // The local backend, as the agent of woodpecker.nix runs it, with the shell on its PATH.
    expect(example("woodpecker.nix")).toContain(`WOODPECKER_BACKEND = "${woodpecker.labels.backend}";`);
    expect(example("woodpecker.nix")).toMatch(
      new RegExp(`path = with pkgs; \\[[^\\]]*\\b${woodpecker.steps[0]!.image}\\b`),
    );
    expect(woodpecker.steps.flatMap((s) => s.commands)).toContainEqual(
      expect.stringMatching(/^imagekeeper run -- /),
    );

    const forgejo = parse(example("forgejo-workflow.yml")) as {
      jobs: Record<string, { "runs-on": string; steps: { run?: string }[] }>;
    };
    for (const job of Object.values(forgejo.jobs))
      expect(example("forgejo-runner.nix")).toContain(`"${job["runs-on"]}:host"`);
    expect(steps(forgejo)).toContainEqual(expect.stringMatching(/^imagekeeper run -- /));

    const github = parse(example("github-workflow.yml")) as {
      jobs: Record<string, { "runs-on": string[]; steps: { run?: string }[] }>;
    };
    for (const job of Object.values(github.jobs)) {
      expect(job["runs-on"][0]).toBe("self-hosted");
      for (const label of job["runs-on"].slice(1))
        expect(example("github-runners.nix")).toMatch(new RegExp(`extraLabels = \\[[^\\]]*"${label}"`));
    }
    expect(steps(github)).toContainEqual(expect.stringMatching(/^imagekeeper run -- /));
  });
});
