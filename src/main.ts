// Process entry for the bundle (dist/imagekeeper.mjs).
import { z } from "zod";
import { main } from "./cli.js";

// zod 4 compiles a fast parser with `new Function` the first time each object schema parses. A CLI
// that parses each schema once or twice pays the compile and never earns it back (docs/performance.md).
z.config({ jitless: true });

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`imagekeeper: internal error: ${String(e)}\n`);
    process.exitCode = 70;
  },
);
