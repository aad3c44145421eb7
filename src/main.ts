// Process entry for the bundle (dist/imagekeeper.mjs).
import { main } from "./cli.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`imagekeeper: internal error: ${String(e)}\n`);
    process.exitCode = 70;
  },
);
