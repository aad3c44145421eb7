// Width-aware text for terminals: visible width (ANSI escapes take none, CJK and emoji take two),
// word wrapping with a hanging indent, truncation, and tables whose overflowing columns move onto
// indented lines under their row (so a table still fits 80 columns). Pure; table-tested.

// CSI sequences (colours, cursor moves) and OSC sequences (hyperlinks).
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

function charWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if ((cp >= 0x300 && cp <= 0x36f) || cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}

/** Columns `s` takes on a terminal. */
export function visibleWidth(s: string): number {
  let w = 0;
  for (const ch of stripAnsi(s)) w += charWidth(ch.codePointAt(0)!);
  return w;
}

export function padEnd(s: string, width: number): string {
  const w = visibleWidth(s);
  return w >= width ? s : s + " ".repeat(width - w);
}

export function padStart(s: string, width: number): string {
  const w = visibleWidth(s);
  return w >= width ? s : " ".repeat(width - w) + s;
}

/** The longest prefix of plain text `s` that fits `width` columns. */
function fitPrefix(s: string, width: number): string {
  let w = 0;
  let out = "";
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (w + cw > width) break;
    out += ch;
    w += cw;
  }
  return out;
}

/** The longest suffix of plain text `s` that fits `width` columns. */
function fitSuffix(s: string, width: number): string {
  const chars = [...s];
  let w = 0;
  let i = chars.length;
  while (i > 0) {
    const cw = charWidth(chars[i - 1]!.codePointAt(0)!);
    if (w + cw > width) break;
    w += cw;
    i--;
  }
  return chars.slice(i).join("");
}

/**
 * Plain text cut to `width` columns with "…" where text was dropped: at the end, or in the middle
 * (image references: the registry and the tag both matter more than the path between them).
 */
export function truncate(s: string, width: number, where: "end" | "middle" = "end"): string {
  if (visibleWidth(s) <= width) return s;
  if (width <= 1) return "…".slice(0, width);
  if (where === "end") return `${fitPrefix(s, width - 1)}…`;
  const tail = Math.floor((width - 1) / 2);
  return `${fitPrefix(s, width - 1 - tail)}…${fitSuffix(s, tail)}`;
}

export interface WrapOptions {
  /** Put before the first line (counted in its width). Default "". */
  first?: string;
  /** Put before every further line. Default: as many spaces as `first` is wide. */
  indent?: string;
}

/**
 * Word-wrap plain text to `width` columns. Existing newlines are kept; a word longer than a line
 * is cut. No `width` (not a terminal): the text's own lines, prefixed, unwrapped.
 */
export function wrap(text: string, width: number | undefined, opts: WrapOptions = {}): string[] {
  const first = opts.first ?? "";
  const indent = opts.indent ?? " ".repeat(visibleWidth(first));
  const out: string[] = [];
  const prefix = () => (out.length === 0 ? first : indent);
  const push = (line: string) => out.push((prefix() + line).trimEnd());
  for (const para of text.split("\n")) {
    if (width === undefined) {
      push(para);
      continue;
    }
    const room = () => Math.max(1, width - visibleWidth(prefix()));
    const lead = /^ */.exec(para)![0];
    // Words at even indexes, the blanks between them at odd ones (kept inside a line: "msg  k=v").
    const tokens = para.slice(lead.length).split(/( +)/);
    let line = "";
    let sep = "";
    let words = 0;
    for (let k = 0; k < tokens.length; k += 2) {
      let word = tokens[k]!;
      const next = tokens[k + 1] ?? "";
      if (word === "") {
        sep = next;
        continue;
      }
      if (words++ === 0) word = lead + word;
      const candidate = line === "" ? word : `${line}${sep}${word}`;
      sep = next;
      if (visibleWidth(candidate) <= room()) {
        line = candidate;
        continue;
      }
      if (line !== "") push(line);
      line = "";
      while (visibleWidth(word) > room()) {
        const head = fitPrefix(word, room()) || [...word][0]!;
        push(head);
        word = word.slice(head.length);
      }
      line = word;
    }
    if (line !== "" || words === 0) push(line);
  }
  return out;
}

export interface Column<R> {
  header: string;
  cell: (row: R) => string;
  align?: "left" | "right";
  /**
   * When the table is too wide, this column shrinks first, down to `min` columns, its cells cut
   * in the middle ("…"). At most one such column is useful; the first one shrinks first.
   */
  shrink?: { min: number };
  /**
   * When the table is still too wide, this column leaves the row and its text goes on wrapped,
   * indented lines under the row ("LABEL: text"; the header is the label).
   */
  moveUnder?: boolean;
}

export interface TableOptions<R> {
  columns: Column<R>[];
  rows: readonly R[];
  /** Terminal width; undefined = natural widths, nothing moved or cut. */
  width: number | undefined;
  /** Spaces between columns. Default 2. */
  gap?: number;
  /** Print the header row. Default true. */
  header?: boolean;
  /** Indent of the lines under a row. Default 4. */
  underIndent?: number;
  /**
   * The last column wraps inside its cell (continuation lines start under it) instead of being cut
   * or moved: for a list of events whose last column is a sentence. It keeps at least `minLast`
   * columns (default 24).
   */
  wrapLast?: boolean;
  minLast?: number;
}

/** Lines of a table that fits `width` columns (see Column.shrink, Column.moveUnder). */
export function table<R>(opts: TableOptions<R>): string[] {
  const gap = opts.gap ?? 2;
  const showHeader = opts.header ?? true;
  const cells = opts.rows.map((r) => opts.columns.map((c) => c.cell(r).replace(/\n/g, " ")));
  const natural = opts.columns.map((c, i) =>
    Math.max(showHeader ? visibleWidth(c.header) : 0, ...cells.map((row) => visibleWidth(row[i]!))),
  );
  const lastCol = opts.columns.length - 1;
  const minLast = opts.minLast ?? 24;
  const total = (ws: number[], cols: number[]) =>
    cols.reduce((n, i) => n + (opts.wrapLast && i === lastCol ? Math.min(ws[i]!, minLast) : ws[i]!), 0) +
    gap * Math.max(0, cols.length - 1);

  let inRow = opts.columns.map((_, i) => i);
  const widths = [...natural];
  const fits = () => opts.width === undefined || total(widths, inRow) <= opts.width;
  const shrinkInto = () => {
    for (const i of inRow) {
      const s = opts.columns[i]!.shrink;
      if (!s || fits()) continue;
      const over = total(widths, inRow) - opts.width!;
      widths[i] = Math.max(s.min, widths[i]! - over);
    }
  };
  shrinkInto();
  if (!fits()) {
    for (let i = 0; i < natural.length; i++) widths[i] = natural[i]!;
    inRow = inRow.filter((i) => !opts.columns[i]!.moveUnder);
    shrinkInto();
  }
  const under = opts.columns.map((_, i) => i).filter((i) => !inRow.includes(i));
  // The last column in the row is not padded: no trailing blanks.
  const last = inRow[inRow.length - 1];
  const fmt = (i: number, text: string) => {
    const col = opts.columns[i]!;
    const w = widths[i]!;
    const t = visibleWidth(text) > w ? truncate(stripAnsi(text), w, "middle") : text;
    if (col.align === "right") return padStart(t, w);
    return i === last ? t : padEnd(t, w);
  };
  const lines: string[] = [];
  if (showHeader)
    lines.push(
      inRow
        .map((i) => fmt(i, opts.columns[i]!.header))
        .join(" ".repeat(gap))
        .trimEnd(),
    );
  const ind = " ".repeat(opts.underIndent ?? 4);
  const wrapping = opts.wrapLast === true && opts.width !== undefined && last === lastCol;
  const start = inRow.slice(0, -1).reduce((n, i) => n + widths[i]! + gap, 0);
  cells.forEach((row) => {
    if (wrapping) {
      const head = inRow
        .slice(0, -1)
        .map((i) => fmt(i, row[i]!))
        .join(" ".repeat(gap));
      lines.push(
        ...wrap(row[lastCol]!, opts.width, { first: head + " ".repeat(gap), indent: " ".repeat(start) }),
      );
    } else
      lines.push(
        inRow
          .map((i) => fmt(i, row[i]!))
          .join(" ".repeat(gap))
          .trimEnd(),
      );
    for (const i of under) {
      const text = row[i]!;
      if (text === "") continue;
      const label = opts.columns[i]!.header.toLowerCase();
      lines.push(...wrap(text, opts.width, { first: `${ind}${label}: `, indent: `${ind}  ` }));
    }
  });
  return lines;
}
