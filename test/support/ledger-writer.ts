// A separate process that records prepulls in a ledger (for the concurrency test).
//   node ledger-writer.mjs STATE_DIR RECIPE IMAGE TIMES
import { recordLedger } from "../../src/state/ledger.js";

const [stateDir, recipe, image, times] = process.argv.slice(2) as [string, string, string, string];
for (let i = 0; i < Number(times); i++) {
  // A minute apart: uses closer than SAME_USE_MS are one observation.
  const at = Date.now() - 3_600_000 + i * 60_000;
  const images = [
    { ref: image, id: `sha256:${image}` },
    { ref: "shared:1", id: "sha256:shared" },
  ];
  await recordLedger(stateDir, {
    uses: images.map((x) => ({
      at,
      id: x.id,
      ref: x.ref,
      app: recipe,
      role: "deploy",
      source: "prepull" as const,
    })),
    needs: [
      { at, app: recipe, role: "deploy", recipe, version: null, versionSource: "working-tree", images },
    ],
  });
}
