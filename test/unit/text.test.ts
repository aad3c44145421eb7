import { describe, expect, it } from "vitest";
import { noColor, terminalOf } from "../../src/ui/terminal.js";
import { padEnd, stripAnsi, table, truncate, visibleWidth, wrap } from "../../src/ui/text.js";

describe("visibleWidth", () => {
  it.each([
    ["", 0],
    ["abc", 3],
    ["\u001b[31mred\u001b[39m", 3],
    ["\u001b]8;;http://x\u0007link\u001b]8;;\u0007", 4],
    ["日本", 4],
    ["e\u0301", 1],
    ["…", 1],
    ["🐳", 2],
  ])("%j is %i columns", (s, w) => {
    expect(visibleWidth(s)).toBe(w);
  });
  it("pads by visible width, not by length", () => {
    expect(padEnd("\u001b[31mab\u001b[39m", 4)).toBe("\u001b[31mab\u001b[39m  ");
    expect(stripAnsi(padEnd("日", 3))).toBe("日 ");
  });
});

describe("truncate", () => {
  it.each([
    ["registry.example.org/group/app:1.2.3", 20, "end", "registry.example.or…"],
    ["registry.example.org/group/app:1.2.3", 20, "middle", "registry.e…app:1.2.3"],
    ["short", 20, "middle", "short"],
    ["exactly-ten", 11, "end", "exactly-ten"],
    ["exactly-ten", 10, "end", "exactly-t…"],
    ["日本語テキスト", 7, "end", "日本語…"],
  ] as const)("%j to %i (%s)", (s, w, where, out) => {
    const t = truncate(s, w, where);
    expect(t).toBe(out);
    expect(visibleWidth(t)).toBeLessThanOrEqual(w);
  });
});

describe("wrap", () => {
  it("wraps at word boundaries with a hanging indent", () => {
    expect(wrap("one two three four five six", 12, { first: "> " })).toEqual([
      "> one two",
      "  three four",
      "  five six",
    ]);
  });
  it("fills a line exactly to the width, not one column more", () => {
    expect(wrap("aaaa bbbb cccc", 9)).toEqual(["aaaa bbbb", "cccc"]);
    expect(wrap("aaaa bbbb cccc", 8)).toEqual(["aaaa", "bbbb", "cccc"]);
  });
  it("cuts a word longer than the line", () => {
    expect(wrap("abcdefghij", 4)).toEqual(["abcd", "efgh", "ij"]);
    expect(wrap("x abcdefghij", 6, { first: "- ", indent: "  " })).toEqual([
      "- x",
      "  abcd",
      "  efgh",
      "  ij",
    ]);
  });
  it("keeps the text's own lines and their leading blanks", () => {
    expect(wrap("a b\n  c d\n\ne", 80, { first: "# ", indent: "  " })).toEqual([
      "# a b",
      "    c d",
      "",
      "  e",
    ]);
  });
  it("does not wrap without a width (a pipe, a CI log)", () => {
    const long = "word ".repeat(60).trim();
    expect(wrap(long, undefined, { first: "x " })).toEqual([`x ${long}`]);
  });
  it("never exceeds the width, whatever the words", () => {
    let seed = 3;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    for (let i = 0; i < 300; i++) {
      const words = Array.from({ length: 1 + rand(30) }, () => "x".repeat(1 + rand(25)));
      const width = 24 + rand(140);
      const lines = wrap(words.join(" "), width, { first: "12:00:00 info  ", indent: " ".repeat(15) });
      for (const l of lines) expect(visibleWidth(l)).toBeLessThanOrEqual(width);
      expect(lines.join(" ").slice("12:00:00 info ".length).replace(/\s+/g, "")).toBe(words.join(""));
    }
  });
});

interface Row {
  order: number;
  size: string;
  image: string;
  reason: string;
}
const rows: Row[] = [
  {
    order: 1,
    size: "120.0 MiB",
    image: "registry.example.org/coop-cloud/nextcloud:27.1.4-fpm",
    reason: "superseded: needed before by nextcloud, not in its latest prepull",
  },
  { order: 2, size: "8.5 MiB", image: "nginx:1.25", reason: "next use predicted in 3d (usual gap 7d)" },
];
const columns = [
  { header: "ORDER", cell: (r: Row) => `#${r.order}`, align: "right" as const },
  { header: "SIZE", cell: (r: Row) => r.size, align: "right" as const },
  { header: "IMAGE", cell: (r: Row) => r.image, shrink: { min: 16 } },
  { header: "REASON", cell: (r: Row) => r.reason, moveUnder: true },
];

describe("table", () => {
  it("at 160 columns: every column in the row", () => {
    expect(table({ columns, rows, width: 160 })).toEqual([
      "ORDER       SIZE  IMAGE                                                 REASON",
      "   #1  120.0 MiB  registry.example.org/coop-cloud/nextcloud:27.1.4-fpm  superseded: needed before by nextcloud, not in its latest prepull",
      "   #2    8.5 MiB  nginx:1.25                                            next use predicted in 3d (usual gap 7d)",
    ]);
  });
  it("at 80 columns: the reason moves under its row, wrapped; the image keeps its width", () => {
    expect(table({ columns, rows, width: 80 })).toEqual([
      "ORDER       SIZE  IMAGE",
      "   #1  120.0 MiB  registry.example.org/coop-cloud/nextcloud:27.1.4-fpm",
      "    reason: superseded: needed before by nextcloud, not in its latest prepull",
      "   #2    8.5 MiB  nginx:1.25",
      "    reason: next use predicted in 3d (usual gap 7d)",
    ]);
  });
  it("at 50 columns: the image is cut in the middle as well", () => {
    const lines = table({ columns, rows, width: 50 });
    expect(lines[1]).toBe("   #1  120.0 MiB  registry.example…loud:27.1.4-fpm");
    expect(lines[2]).toBe("    reason: superseded: needed before by");
    expect(lines[3]).toBe("      nextcloud, not in its latest prepull");
    for (const l of lines) expect(visibleWidth(l)).toBeLessThanOrEqual(50);
  });
  it("without a width (not a terminal): natural widths, nothing moved or cut", () => {
    expect(table({ columns, rows, width: undefined })).toEqual(table({ columns, rows, width: 1000 }));
  });
  it("wrapLast: the last column wraps inside its cell", () => {
    const lines = table({
      columns: [
        { header: "TIME", cell: (r: Row) => `0${r.order}:00` },
        { header: "WHAT", cell: (r: Row) => r.reason },
      ],
      rows,
      width: 40,
      wrapLast: true,
      minLast: 20,
    });
    expect(lines).toEqual([
      "TIME   WHAT",
      "01:00  superseded: needed before by",
      "       nextcloud, not in its latest",
      "       prepull",
      "02:00  next use predicted in 3d (usual",
      "       gap 7d)",
    ]);
  });
});

describe("terminalOf", () => {
  it.each([
    ["a pipe", { isTTY: false, columns: 120 }, {}, { tty: false, columns: undefined, color: false }],
    ["a terminal", { isTTY: true, columns: 120 }, {}, { tty: true, columns: 120, color: true }],
    [
      "a terminal, NO_COLOR=1",
      { isTTY: true, columns: 80 },
      { NO_COLOR: "1" },
      { tty: true, columns: 80, color: false },
    ],
    [
      "a terminal, NO_COLOR empty",
      { isTTY: true, columns: 80 },
      { NO_COLOR: "" },
      { tty: true, columns: 80, color: true },
    ],
    [
      "a dumb terminal",
      { isTTY: true, columns: 80 },
      { TERM: "dumb" },
      { tty: true, columns: 80, color: false },
    ],
    [
      "a terminal without a size",
      { isTTY: true },
      { COLUMNS: "132" },
      { tty: true, columns: 132, color: true },
    ],
    ["a terminal without any size", { isTTY: true, columns: 0 }, {}, { tty: true, columns: 80, color: true }],
  ])("%s", (_n, stream, env, want) => {
    expect(terminalOf(stream, env)).toEqual(want);
  });
  it("NO_COLOR counts when set and not empty (no-color.org)", () => {
    expect(noColor({ NO_COLOR: "0" })).toBe(true);
    expect(noColor({})).toBe(false);
  });
});
