import { closeSync, fstatSync, openSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  effectiveLevel,
  eventOf,
  human,
  initLogger,
  type LogSettings,
  logger,
  setLogWriter,
  stderrIsJournal,
} from "../../src/log.js";
import { fieldText, formatEvent, type LogEvent } from "../../src/ui/event-line.js";
import { PLAIN, type Terminal } from "../../src/ui/terminal.js";

beforeAll(() => {
  process.env.TZ = "UTC";
});

const time = new Date("2025-03-01T14:02:11.345Z");
const tty = (columns: number, color = false): Terminal => ({ tty: true, columns, color });
const retry: LogEvent = {
  time,
  level: "warn",
  msg: "pull failed; retrying after backoff",
  fields: [
    ["ref", "registry.example.org/coop-cloud/nextcloud:27.1.4-fpm"],
    ["errorClass", "rate-limited"],
    ["waitMs", 4000],
  ],
};
const failed: LogEvent = {
  time,
  level: "error",
  msg: "image failed",
  fields: [["ref", "nginx:1.99"]],
  hint: "Check the tag exists in the registry.",
};

describe("formatEvent", () => {
  it("not a terminal (a CI log): one line, time, level, message, the fields, never wrapped", () => {
    expect(formatEvent(retry, { terminal: PLAIN, journal: false })).toBe(
      "14:02:11 warn  pull failed; retrying after backoff  ref=registry.example.org/coop-cloud/nextcloud:27.1.4-fpm errorClass=rate-limited wait=4.0s",
    );
    expect(formatEvent(failed, { terminal: PLAIN, journal: false })).toBe(
      "14:02:11 error image failed  ref=nginx:1.99 — fix: Check the tag exists in the registry.",
    );
  });

  it("a terminal at 160 columns: fits on one line, no colour when not allowed", () => {
    expect(formatEvent(retry, { terminal: tty(160), journal: false })).toBe(
      "14:02:11 warn  pull failed; retrying after backoff  ref=registry.example.org/coop-cloud/nextcloud:27.1.4-fpm errorClass=rate-limited wait=4.0s",
    );
  });

  it("a terminal at 80 columns: wrapped under a hanging indent", () => {
    expect(formatEvent(retry, { terminal: tty(80), journal: false }).split("\n")).toEqual([
      "14:02:11 warn  pull failed; retrying after backoff",
      "               ref=registry.example.org/coop-cloud/nextcloud:27.1.4-fpm",
      "               errorClass=rate-limited wait=4.0s",
    ]);
    expect(formatEvent(failed, { terminal: tty(40), journal: false }).split("\n")).toEqual([
      "14:02:11 error image failed",
      "               ref=nginx:1.99 — fix:",
      "               Check the tag exists in",
      "               the registry.",
    ]);
  });

  it("a colour terminal: the level coloured by severity, the time dim", () => {
    const warn = formatEvent(retry, { terminal: tty(160, true), journal: false });
    expect(warn.startsWith("\u001b[2m14:02:11\u001b[22m \u001b[33mwarn \u001b[39m pull failed")).toBe(true);
    const err = formatEvent(failed, { terminal: tty(160, true), journal: false });
    expect(err).toContain("\u001b[1m\u001b[31merror\u001b[39m\u001b[22m image failed");
    expect(err).toContain(" — \u001b[36mfix:\u001b[39m Check");
    const info = formatEvent(
      { ...failed, level: "info", hint: undefined },
      { terminal: tty(160, true), journal: false },
    );
    expect(info).toContain("\u001b[22m info  image failed");
  });

  it.each([
    ["trace", "<7>"],
    ["debug", "<7>"],
    ["info", "<6>"],
    ["warn", "<4>"],
    ["error", "<3>"],
    ["fatal", "<2>"],
  ] as const)("the journal: %s lines start with %s and carry no time", (level, pri) => {
    const line = formatEvent({ ...failed, level }, { terminal: PLAIN, journal: true });
    expect(line).toBe(
      `${pri}${level.padEnd(5)} image failed  ref=nginx:1.99 — fix: Check the tag exists in the registry.`,
    );
  });

  it("the journal: a message of several lines is several entries, each with its priority", () => {
    const line = formatEvent(
      { ...failed, msg: "first\nsecond", fields: [], hint: undefined },
      { terminal: PLAIN, journal: true },
    );
    expect(line.split("\n")).toEqual(["<3>error first", "<3>      second"]);
  });
});

describe("fieldText", () => {
  it.each([
    ["ref", "nginx:1.25", "ref=nginx:1.25"],
    ["reason", "used by container web", 'reason="used by container web"'],
    ["file", "", 'file=""'],
    ["durationMs", 61_000, "duration=1m1s"],
    ["freedBytes", 10 * 1024 ** 3, "freed=10.0 GiB"],
    ["Ms", 5, "Ms=5"],
    ["attempt", 2, "attempt=2"],
    ["ok", false, "ok=false"],
    ["images", ["a:1", "b:2"], "images=a:1,b:2"],
    ["err", new Error("boom here"), 'err="boom here"'],
    ["err", { type: "Error", message: "boom", stack: "…" }, "err=boom"],
    ["plan", { a: 1 }, 'plan={"a":1}'],
  ])("%s=%j", (key, value, text) => {
    expect(fieldText(key, value)).toBe(text);
  });
  it.each([[undefined], [null]])("%j is left out", (v) => {
    expect(fieldText("x", v)).toBeUndefined();
  });
});

describe("eventOf: which fields a person sees", () => {
  const obj = {
    ref: "x:1",
    id: "sha256:abc",
    durationMs: 5,
    attempts: 1,
    file: "compose.yml",
    hint: "do this",
  };
  it("a call marked with human() shows exactly those fields, in that order", () => {
    const e = eventOf("info", human(obj, ["durationMs", "ref"]), "image pulled", time);
    expect(e.fields).toEqual([
      ["durationMs", 5],
      ["ref", "x:1"],
    ]);
    expect(e.hint).toBe("do this");
  });
  it("an unmarked call shows the well-known fields only", () => {
    expect(eventOf("warn", obj, "m", time).fields.map(([k]) => k)).toEqual(["ref", "file"]);
  });
  it("debug and trace show every field", () => {
    expect(eventOf("debug", obj, "m", time).fields.map(([k]) => k)).toEqual([
      "ref",
      "id",
      "durationMs",
      "attempts",
      "file",
    ]);
  });
  it("never shows a secret, marked or not", () => {
    const e = eventOf(
      "debug",
      human({ token: "t0p", password: "p", ref: "r" }, ["token", "password", "ref"]),
      "m",
      time,
    );
    expect(e.fields).toEqual([["ref", "r"]]);
  });
  it("takes the message from an error when there is none", () => {
    expect(eventOf("error", { err: new Error("disk full") }, undefined, time).msg).toBe("disk full");
  });
});

describe("effectiveLevel", () => {
  it.each([
    ["info", false, "info"],
    ["debug", false, "debug"],
    ["info", true, "warn"],
    ["debug", true, "warn"],
    ["warn", true, "warn"],
    ["error", true, "error"],
  ] as const)("%s, quiet %s → %s", (level, quiet, want) => {
    expect(effectiveLevel({ level, quiet })).toBe(want);
  });
});

describe("stderrIsJournal", () => {
  const file = path.join(tmpdir(), `ikjournal-${process.pid}`);
  it("is true only when JOURNAL_STREAM names the very file on that descriptor", () => {
    const fd = openSync(file, "w");
    const other = openSync(`${file}.other`, "w");
    try {
      const st = fstatSync(fd, { bigint: true });
      const js = `${st.dev}:${st.ino}`;
      expect(stderrIsJournal({ JOURNAL_STREAM: js }, fd)).toBe(true);
      expect(stderrIsJournal({ JOURNAL_STREAM: js }, other)).toBe(false);
      expect(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }, fd)).toBe(false);
      expect(stderrIsJournal({ JOURNAL_STREAM: `${st.dev + 1n}:${st.ino}` }, fd)).toBe(false);
      expect(stderrIsJournal({}, fd)).toBe(false);
      expect(stderrIsJournal({ JOURNAL_STREAM: "garbage" }, fd)).toBe(false);
    } finally {
      closeSync(fd);
      closeSync(other);
      unlinkSync(file);
      unlinkSync(`${file}.other`);
    }
  });
});

describe("the logger", () => {
  const lines: string[] = [];
  const settings = (s: Partial<LogSettings>): LogSettings => ({
    level: "info",
    format: "human",
    quiet: false,
    terminal: PLAIN,
    journal: false,
    ...s,
  });
  afterEach(() => {
    setLogWriter(undefined);
    lines.length = 0;
  });
  const capture = () => setLogWriter((t) => lines.push(t));

  it("human: one line per event, the marked fields, no pid or other fields", () => {
    capture();
    initLogger(settings({}), () => time);
    logger().info(
      human({ ref: "a:1", id: "sha256:1", durationMs: 1200 }, ["ref", "durationMs"]),
      "image pulled",
    );
    logger().debug({ ref: "hidden" }, "not at info");
    expect(lines).toEqual(["14:02:11 info  image pulled  ref=a:1 duration=1.2s\n"]);
  });

  it("json: pino's line with every field and no mark; secrets redacted", () => {
    capture();
    initLogger(settings({ format: "json" }));
    logger().warn(human({ ref: "a:1", token: "s3cret" }, ["ref"]), "careful");
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!);
    expect(rec).toMatchObject({ level: 40, msg: "careful", ref: "a:1", token: "[redacted]" });
    expect(Object.keys(rec).sort()).toEqual(["level", "msg", "pid", "ref", "time", "token"]);
  });

  it("json in the journal: the priority first, then the JSON", () => {
    capture();
    initLogger(settings({ format: "json", journal: true }));
    logger().error("bad");
    expect(lines[0]).toMatch(/^<3>\{"level":50,/);
  });

  it("quiet: warnings and errors only", () => {
    capture();
    initLogger(settings({ quiet: true, level: "debug" }), () => time);
    logger().info("chatter");
    logger().debug("more chatter");
    logger().warn("a warning");
    expect(lines).toEqual(["14:02:11 warn  a warning\n"]);
  });
});
