// A block of lines at the bottom of a terminal, redrawn in place (pull progress), with everything
// else printed above it: before any other write the block is erased (cursor up over its lines,
// erase to the end of the screen), the text is written, and the block is drawn again under it.
// So log lines and results never interleave with it. Only for a terminal (Terminal.tty): on
// Linux, writes to a TTY are synchronous, so stdout and stderr writes land in call order.
// ECMA-48: CSI n A (cursor up), CSI J (erase in display, to the end).

export interface BlockStream {
  write(text: string): unknown;
}

export class LiveBlock {
  private drawn = 0;
  private lines: string[] = [];
  private stopped = false;

  constructor(private readonly stream: BlockStream) {}

  /** Escape text that erases what the last draw left on the screen. */
  private erase(): string {
    return this.drawn ? `\r\u001b[${this.drawn}A\u001b[J` : "";
  }

  /** Replace the block's lines and redraw them. */
  update(lines: readonly string[]): void {
    if (this.stopped) return;
    this.lines = [...lines];
    const body = this.lines.map((l) => `${l}\n`).join("");
    this.stream.write(this.erase() + body);
    this.drawn = this.lines.length;
  }

  /** Print `text` above the block, on `to` (the same terminal: stdout or stderr). */
  print(text: string, to: BlockStream = this.stream): void {
    if (this.stopped || !this.drawn) {
      to.write(text);
      return;
    }
    this.stream.write(this.erase());
    this.drawn = 0;
    to.write(text);
    this.update(this.lines);
  }

  /** Erase the block for good; later prints go straight through. */
  stop(): void {
    if (this.stopped) return;
    this.stream.write(this.erase());
    this.drawn = 0;
    this.stopped = true;
  }
}
