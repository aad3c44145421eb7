// A separate process that records prepulls in a ledger (for the concurrency test).
//   node ledger-writer.mjs STATE_DIR RECIPE IMAGE TIMES
import { applyPrepull, updateLedger } from "../../src/state/ledger.js";

const [stateDir, recipe, image, times] = process.argv.slice(2) as [string, string, string, string];
for (let i = 0; i < Number(times); i++) {
  await updateLedger(stateDir, (l) =>
    applyPrepull(l, {
      at: new Date(Date.now() + i),
      recipe,
      ref: null,
      images: [
        { ref: image, id: `sha256:${image}` },
        { ref: "shared:1", id: "sha256:shared" },
      ],
    }),
  );
}
