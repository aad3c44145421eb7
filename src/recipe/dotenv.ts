// A reader for Co-op Cloud app `.env` files with the semantics of joho/godotenv v1.5.1. abra reads
// app env files through a fork of godotenv made after v1.5.1 that adds `# length=32`-style modifier
// comments (the fork's own source was not available to check). This re-implements parser.go
// function by function so that every quirk, deliberate or not, matches what the deploy sees:
// https://github.com/joho/godotenv/blob/v1.5.1/parser.go
//
// Not bash, not docker compose: no `${VAR:-default}`, names in `$VAR` are `[A-Z0-9_]` only, a `#`
// needs whitespace before it to start a comment, and double quotes know only `\n` and `\r`.
import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";

export interface EnvEntry {
  key: string;
  value: string;
  /** 1-based line of the key (a multi-line quoted value continues below it). */
  line: number;
  /** abra's modifiers from a trailing comment, e.g. `# length=32` → { length: "32" }. */
  modifiers: Record<string, string>;
}

export interface ParsedEnv {
  /** Every assignment in file order, duplicates included. */
  entries: EnvEntry[];
  /** The resulting map: a later assignment of a key wins, as in godotenv. */
  vars: Record<string, string>;
}

type Lookup = (name: string) => string | undefined;

/**
 * Parses `.env` text as godotenv does. `$VAR` is looked up in the keys assigned earlier in the
 * text, then in `lookup`, else it is empty. Without `lookup` there is no fallback: that is godotenv
 * v1.5.1; v1.6.0-pre (joho/godotenv#227) falls back to the process environment, so pass
 * `(n) => process.env[n]` for that.
 */
export function parseDotenv(text: string, file: string, lookup?: Lookup): ParsedEnv {
  // godotenv parseBytes: CRLF becomes LF before anything else; a lone CR stays (see isLineEnd).
  const src = text.replaceAll("\r\n", "\n");
  const where = locator(src, file);
  const defined = new Map<string, string>();
  const entries: EnvEntry[] = [];
  for (let pos = statementStart(src, 0); pos !== -1;) {
    const key = locateKeyName(src, pos, where);
    const value = extractVarValue(src, key.valueStart, key.name, where, (v) =>
      expandVariables(v, defined, lookup),
    );
    defined.set(key.name, value.value);
    entries.push({
      key: key.name,
      value: value.value,
      line: where.line(key.start),
      modifiers: value.modifiers,
    });
    pos = statementStart(src, value.next);
  }
  // fromEntries defines own properties, so even a key named __proto__ lands in the map.
  return { entries, vars: Object.fromEntries(defined) };
}

/** Reads and parses an env file; an unreadable file is an InputError("env"). */
export function readDotenv(file: string, lookup?: Lookup): ParsedEnv {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError("env", `cannot read env file ${file}: ${code ?? String(err)}`, {
      file,
      hint: "check the path given with --env-file and that this user may read it",
      cause: err,
    });
  }
  return parseDotenv(text, file, lookup);
}

// ---- positions and errors -------------------------------------------------------------------

interface Locator {
  line(pos: number): number;
  fail(pos: number, what: string, hint: string): InputError;
}

function locator(src: string, file: string): Locator {
  const newlines: number[] = [];
  for (let i = src.indexOf("\n"); i !== -1; i = src.indexOf("\n", i + 1)) newlines.push(i);
  const line = (pos: number): number => {
    let n = 0;
    while (n < newlines.length && newlines[n]! < pos) n++;
    return n + 1;
  };
  return {
    line,
    // Messages name the line and what is wrong but never quote the text: a stray line may be a
    // pasted secret (godotenv itself prints the rest of the file after the bad character).
    fail: (pos, what, hint) => new InputError("env", `${file}:${line(pos)}: ${what}`, { file, hint }),
  };
}

// ---- character classes ----------------------------------------------------------------------

/** godotenv parser.go isSpace: blanks that are not a line break. `\r` counts, `\n` does not. */
function isSpace(ch: string | undefined): boolean {
  return (
    ch === " " || ch === "\t" || ch === "\v" || ch === "\f" || ch === "\r" || ch === "\x85" || ch === "\xa0"
  );
}

/**
 * Go's unicode.IsSpace (used to find where a statement starts). Unlike JS `\s` it excludes
 * U+FEFF, so a byte-order mark is not skipped: godotenv fails on it, and so do we.
 */
function isUnicodeSpace(ch: string | undefined): boolean {
  return (
    ch !== undefined &&
    (ch === "\n" || isSpace(ch) || /^[\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(ch))
  );
}

const LATIN1_LETTER_OR_NUMBER = /^[\p{L}\p{N}]$/u;

/**
 * godotenv locateKeyName walks the key byte by byte and casts each byte to a rune, so a non-ASCII
 * character is judged by its UTF-8 bytes read as Latin-1: accepted only if every byte is a Latin-1
 * letter, number, NEL or NBSP (à = C3 A0 passes; é = C3 A9, Ü = C3 9C and a BOM EF BB BF do not).
 */
function isKeyChar(cp: number): boolean {
  if (cp < 0x80) {
    const ch = String.fromCharCode(cp);
    return isSpace(ch) || ch === "_" || ch === "." || /^[A-Za-z0-9]$/.test(ch);
  }
  for (const b of Buffer.from(String.fromCodePoint(cp), "utf8")) {
    const ch = String.fromCharCode(b);
    if (!isSpace(ch) && !LATIN1_LETTER_OR_NUMBER.test(ch)) return false;
  }
  return true;
}

// ---- the parser, following parser.go --------------------------------------------------------

/** godotenv getStatementStart: skip blank space (any, newlines too) and whole `#` comment lines. */
function statementStart(src: string, from: number): number {
  let pos = from;
  for (;;) {
    while (pos < src.length && isUnicodeSpace(src[pos])) pos++;
    if (pos >= src.length) return -1;
    if (src[pos] !== "#") return pos;
    const eol = src.indexOf("\n", pos);
    if (eol === -1) return -1;
    pos = eol;
  }
}

interface KeyName {
  name: string;
  /** Where the key begins (after `export `), for the entry's line number. */
  start: number;
  valueStart: number;
}

/** godotenv locateKeyName: optional `export `, then a name ended by `=` or `:` (yaml-ish). */
function locateKeyName(src: string, from: number, where: Locator): KeyName {
  let start = skipSpaces(src, from);
  // `export` counts only when followed by a blank, so `exportFOO=1` is the key exportFOO.
  if (src.startsWith("export", start) && isSpace(src[start + 6])) start = skipSpaces(src, start + 6);
  if (start >= src.length) {
    throw where.fail(start, '"export" without a variable name', "write export KEY=VALUE, or remove the line");
  }
  for (let i = start; i < src.length;) {
    const cp = src.codePointAt(i)!;
    if (cp === 0x3d || cp === 0x3a) {
      // `=` or `:`. Blanks inside the name are skipped, not refused: `MY KEY=1` defines "MY KEY".
      let end = i;
      while (end > start && isUnicodeSpace(src[end - 1])) end--;
      const name = src.slice(start, end);
      return { name, start, valueStart: skipSpaces(src, i + 1) };
    }
    if (!isKeyChar(cp)) throw keyError(src, i, cp, where);
    i += cp > 0xffff ? 2 : 1;
  }
  // godotenv quirk: a last line without a newline, `=` or `:` (say `FOO`) is not an error; it
  // becomes the value of the empty key, because the name loop ends before finding a separator.
  return { name: "", start, valueStart: start };
}

function keyError(src: string, pos: number, cp: number, where: Locator): InputError {
  if (cp === 0x0a) {
    return where.fail(
      pos,
      'expected KEY=VALUE but the line has no "=" (nor yaml-style ":")',
      "write KEY=VALUE; start comment lines with #; quote values that contain spaces, # or line breaks",
    );
  }
  if (cp === 0xfeff) {
    const what =
      pos === 0 ? "the file starts with a byte-order mark" : "a byte-order mark (U+FEFF) in a variable name";
    return where.fail(pos, what, "save the file as UTF-8 without a BOM");
  }
  const ch = String.fromCodePoint(cp);
  const shown = /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch)
    ? JSON.stringify(ch)
    : `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  const column = pos - src.lastIndexOf("\n", pos - 1);
  return where.fail(pos, `unexpected character ${shown} in a variable name (column ${column})`, keyHint(cp));
}

function keyHint(cp: number): string {
  if (cp === 0x2d) return 'godotenv v1.5 (used by abra) refuses "-" in names: use "_" instead';
  if (cp === 0x22 || cp === 0x27) {
    // Often the tail of a value above whose closing quote followed `\\`: v1.5.1 reads past it.
    return 'quotes belong after "=" (KEY="value"); if a quoted value above ends in \\\\" godotenv v1.5 did not end it there: drop the backslashes or use single quotes';
  }
  return 'names may contain only letters, digits, "_" and "."; write KEY=VALUE; quote values containing spaces';
}

function skipSpaces(src: string, from: number): number {
  let pos = from;
  while (pos < src.length && isSpace(src[pos])) pos++;
  return pos;
}

interface VarValue {
  value: string;
  next: number;
  modifiers: Record<string, string>;
}

/** godotenv extractVarValue: an unquoted value runs to the end of the line; a quoted one may span lines. */
function extractVarValue(
  src: string,
  from: number,
  key: string,
  where: Locator,
  expand: (v: string) => string,
): VarValue {
  const quote = src[from];
  if (quote !== '"' && quote !== "'") {
    // isLineEnd: a lone CR ends an unquoted value as LF does.
    const eol = indexOfLineEnd(src, from);
    const line = src.slice(from, eol);
    // Only a `#` preceded by a blank starts a comment (`a#b` is a value), and godotenv v1.5.1
    // searches from the END of the line: `a # b # c` keeps "a # b". (v1.6.0-pre takes the first,
    // joho/godotenv#238.) A `#` at the very start is never a comment: `KEY= # x` has value "# x".
    let end = line.length;
    // Stryker disable next-line ArithmeticOperator: starting past the end reads undefined, never "#"
    for (let i = line.length - 1; i > 0; i--) {
      if (line[i] === "#" && isSpace(line[i - 1])) {
        end = i;
        break;
      }
    }
    return {
      value: expand(trimSpaces(line.slice(0, end))),
      next: eol,
      modifiers: parseModifiers(line.slice(end)),
    };
  }
  for (let i = from + 1; i < src.length; i++) {
    // v1.5.1 skips every quote right after a backslash, even an escaped one: `"a\\"` does not close
    // there (fixed in v1.6.0-pre, joho/godotenv b724238). Single quotes too, though they unescape nothing.
    if (src[i] !== quote || src[i - 1] === "\\") continue;
    // godotenv trims runs of the quote character at both ends, so `"a\""` is `a\`, not `a"`.
    const raw = stripRuns(src.slice(from, i), quote);
    const value = quote === '"' ? expand(expandEscapes(raw)) : raw;
    return { value, next: i + 1, modifiers: parseModifiers(trailingComment(src, i + 1)) };
  }
  throw where.fail(
    from,
    `unterminated ${quote === '"' ? "double" : "single"}-quoted value for ${key || "the empty key"}`,
    'close the quote; a quote right after a backslash never closes the value (write \\" for a literal quote inside double quotes)',
  );
}

function indexOfLineEnd(src: string, from: number): number {
  for (let i = from; i < src.length; i++) if (src[i] === "\n" || src[i] === "\r") return i;
  return src.length;
}

function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,UpdateOperator: never runs; callers start values after skipSpaces
  while (a < b && isSpace(s[a])) a++;
  while (b > a && isSpace(s[b - 1])) b--;
  return s.slice(a, b);
}

function stripRuns(s: string, ch: string): string {
  let a = 0;
  let b = s.length;
  while (b > 0 && s[b - 1] === ch) b--;
  while (a < b && s[a] === ch) a++;
  return s.slice(a, b);
}

/**
 * godotenv expandEscapes: `\n` and `\r` become LF and CR; then a backslash before any character
 * except `$` is dropped (`\"` → `"`, `\\` → `\`, `\t` → `t`). `\$` survives for expandVariables,
 * which turns it into a literal `$`. Go's `.` matches anything but LF, hence `[^\n]`.
 */
function expandEscapes(s: string): string {
  const named = s.replace(/\\[^\n]/gu, (m) => (m === "\\n" ? "\n" : m === "\\r" ? "\r" : m));
  return named.replace(/\\([^$])/gu, "$1");
}

// godotenv expandVarRegex, verbatim: `(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?`. Every part after `$` is
// optional, which gives the quirks: `${X:-d}` expands `${X` and keeps `:-d}`; `$Foo` expands `$F`
// and keeps `oo`; `$X}` eats the `}`; `$foo`, `${foo}` and `$$` stay as written.
const EXPAND_VAR = /(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?/g;

function expandVariables(
  v: string,
  defined: ReadonlyMap<string, string>,
  lookup: Lookup | undefined,
): string {
  return v.replace(
    EXPAND_VAR,
    (match: string, escaped?: string, _dollar?: string, _paren?: string, name?: string) => {
      // godotenv checks submatch[2] == "(" to skip `$(…)`, but group 2 is always "$": the check never
      // fires, so `$(FOO)` expands `$(FOO` and keeps `)`. Reproduced by not checking.
      if (escaped) return match.slice(1);
      if (!name) return match;
      return defined.get(name) ?? lookup?.(name) ?? "";
    },
  );
}

/** The comment after a closing quote on the same line, if any (godotenv skips it unread). */
function trailingComment(src: string, from: number): string {
  const pos = skipSpaces(src, from);
  if (src[pos] !== "#") {
    // Stryker disable next-line StringLiteral: parseModifiers reads nothing from a text not starting with "#"
    return "";
  }
  const eol = src.indexOf("\n", pos);
  return src.slice(pos, eol === -1 ? src.length : eol);
}

/**
 * abra's modifiers (`# length=32`, read when abra generates secrets) live in a value's trailing
 * comment. We take every `name=value` word of that comment; other words are ordinary text. The
 * fork's exact rule is unverified, and modifiers never change a value, so nothing here affects
 * which images are resolved.
 */
function parseModifiers(comment: string): Record<string, string> {
  // Stryker disable next-line ConditionalExpression,StringLiteral: callers pass "" or a "#" comment; "" yields {} anyway
  if (!comment.startsWith("#")) return {};
  const pairs: [string, string][] = [];
  for (const word of comment.slice(1).split(/[\s\x85\xa0]+/u)) {
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)=(.*)$/su.exec(word);
    if (m) pairs.push([m[1]!, m[2]!]);
  }
  return Object.fromEntries(pairs);
}
