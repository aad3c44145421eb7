// ANSI colour, only where a Terminal allows it (a TTY, NO_COLOR unset): otherwise every function is
// the identity, so renderers call them unconditionally.
import type { Terminal } from "./terminal.js";

export interface Paint {
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

const ON: Paint = {
  red: sgr(31, 39),
  yellow: sgr(33, 39),
  green: sgr(32, 39),
  cyan: sgr(36, 39),
  dim: sgr(2, 22),
  bold: sgr(1, 22),
};

const id = (s: string) => s;
const OFF: Paint = { red: id, yellow: id, green: id, cyan: id, dim: id, bold: id };

export function paint(t: Pick<Terminal, "color">): Paint {
  return t.color ? ON : OFF;
}
