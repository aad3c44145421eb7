// The .env reader against godotenv v1.5.1 (joho/godotenv parser.go). Every expected value in the
// `vars` tables was checked against the Go library itself (godotenv.Unmarshal at v1.5.1), quirks
// included; the cases quoted from godotenv_test.go keep their upstream wording.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { parseDotenv, readDotenv } from "../../src/recipe/dotenv.js";

type Vars = Record<string, string>;
type Case = [name: string, text: string, vars: Vars];

const parse = (text: string, lookup?: (n: string) => string | undefined) =>
  parseDotenv(text, "app.env", lookup).vars;

describe("quotes", () => {
  it.each<Case>([
    ["double quotes keep spaces", 'FOO="bar baz"', { FOO: "bar baz" }],
    ["single quotes keep spaces", "FOO='bar baz'", { FOO: "bar baz" }],
    ["single quotes inside double", `FOO="'d'"`, { FOO: "'d'" }],
    ["double quotes inside single", `FOO='say "hi"'`, { FOO: 'say "hi"' }],
    ["escaped double quote", 'FOO="escaped\\"bar"', { FOO: 'escaped"bar' }],
    ["backslash-quote in single quotes stays as written", "X='it\\'s'", { X: "it\\'s" }],
    ["quote chars at the edges are trimmed: an escaped last quote is lost", 'X="abc\\""', { X: "abc\\" }],
    ["blanks around = before a quote", 'THREE = "3"', { THREE: "3" }],
    ["empty double quotes", 'A=""', { A: "" }],
    ["empty single quotes", "A=''", { A: "" }],
    ["multi-line double-quoted value", 'X="a\nb"\nY=2', { X: "a\nb", Y: "2" }],
    ["multi-line single-quoted value, then used", "X='a\nb'\nY=$X", { X: "a\nb", Y: "a\nb" }],
    ["# inside double quotes", 'FOO="bar#baz" # comment', { FOO: "bar#baz" }],
    ["# inside single quotes", "FOO='bar # baz' # comment", { FOO: "bar # baz" }],
    ["# inside a multi-line value is text", 'A="one\n# two"', { A: "one\n# two" }],
    ["text after the closing quote starts another assignment", 'A="v"b=c', { A: "v", b: "c" }],
    ["a word after the closing quote at end of file is the empty key", 'A="v" junk', { A: "v", "": "junk" }],
  ])("%s", (_name, text, vars) => {
    expect(parse(text)).toStrictEqual(vars);
  });
});

describe("inline comments", () => {
  it.each<Case>([
    ["space before # starts a comment", "FOO=bar # this is foo", { FOO: "bar" }],
    ["tab before # starts a comment", "FOO=bar\t# c", { FOO: "bar" }],
    ["no blank before # keeps it", "FOO=bar#baz", { FOO: "bar#baz" }],
    ["url fragment kept", "URL=https://example.org/#top", { URL: "https://example.org/#top" }],
    ["the LAST blank-# starts the comment (v1.5.1)", "A=a # b # c", { A: "a # b" }],
    [
      "an empty value then a comment: the comment is the value",
      "A= # not a comment",
      { A: "# not a comment" },
    ],
    ["comment right after a closing quote", 'baz="foo"#bar', { baz: "foo" }],
    ["comment lines, indented comments and blank lines", "# c\n\n  \t# d\nA=1\n\n", { A: "1" }],
    ["a commented-out assignment is skipped", '#A=1\n# COMPOSE_FILE="$COMPOSE_FILE:x.yml"\nB=2', { B: "2" }],
    ["only comments", "# one\n# two", {}],
    ["a bare # line, then an assignment", "#\nA=1", { A: "1" }],
    ["a last comment line without a newline", "A=1\n# c", { A: "1" }],
    ["empty file", "", {}],
  ])("%s", (_name, text, vars) => {
    expect(parse(text)).toStrictEqual(vars);
  });
});

describe("escapes", () => {
  it.each<Case>([
    ["\\n in double quotes is a newline", 'FOO="bar\\nbaz"', { FOO: "bar\nbaz" }],
    ["\\r in double quotes is a carriage return", 'FOO="a\\rb"', { FOO: "a\rb" }],
    ["\\\\n in double quotes is backslash-n", 'FOO="a\\\\nb"', { FOO: "a\\nb" }],
    ["\\t is not an escape: the backslash is dropped", 'X="a\\tb"', { X: "atb" }],
    ["upstream: backslashes before other chars dropped", 'FOO="bar\\n\\ b\\az"', { FOO: "bar\n baz" }],
    ["upstream: escaped backslash then \\n", 'FOO="bar\\\\\\n\\ b\\az"', { FOO: "bar\\\n baz" }],
    ["single quotes process no escapes", "X='a\\nb'", { X: "a\\nb" }],
    ["unquoted values process no escapes", "X=a\\tb\\n", { X: "a\\tb\\n" }],
    ["\\$ in double quotes is a literal $", 'FOO="foo\\$BAR"', { FOO: "foo$BAR" }],
    ["\\${ in double quotes is literal", 'A=x\nB="foo\\${A} ${A}"', { A: "x", B: "foo${A} x" }],
    ["\\$ unquoted is a literal $", "A=x\nB=\\$A", { A: "x", B: "$A" }],
    ["\\$ before a lower-case name is a literal $", 'X="a\\$b"', { X: "a$b" }],
    ["\\$ at the end is a literal $", "X=a\\$", { X: "a$" }],
    ["\\${ with no name is a literal ${", 'X="\\${}"', { X: "${}" }],
    [
      "\\\\$A in double quotes is a literal $A, not backslash + value",
      'A=x\nB="\\\\$A"',
      { A: "x", B: "$A" },
    ],
    ["\\\\$A unquoted keeps one backslash and no value", "A=x\nB=a\\\\$A", { A: "x", B: "a\\$A" }],
  ])("%s", (_name, text, vars) => {
    expect(parse(text)).toStrictEqual(vars);
  });
});

describe("variable expansion (no lookup)", () => {
  it.each<Case>([
    ["$VAR", "A=x\nB=$A", { A: "x", B: "x" }],
    ["${VAR} with a suffix", "A=x\nB=${A}bar", { A: "x", B: "xbar" }],
    ["inside double quotes", 'A=x\nB="quote $A"', { A: "x", B: "quote x" }],
    ["not inside single quotes", "A=x\nB='quote $A'", { A: "x", B: "quote $A" }],
    ["unset expands to empty", "B=[$NOPE]", { B: "[]" }],
    ["a key defined later is not visible", "B=$A\nA=1", { B: "", A: "1" }],
    ["a key's own earlier value", "A=1\nA=${A}2", { A: "12" }],
    ["self-reference on first definition is empty", "A=${A}", { A: "" }],
    ["lower-case $name stays literal", "X=$foo", { X: "$foo" }],
    ["lower-case ${name} stays literal", "X=${foo}", { X: "${foo}" }],
    ["mixed case: only the leading capitals are a name", "A=x\nX=$Abc", { A: "x", X: "xbc" }],
    ["digits and underscores are name chars", "A_1=x\n_=y\nX=${A_1}$_", { A_1: "x", _: "y", X: "xy" }],
    ["${X:-d} is not a default: ${X is expanded, :-d} stays", "X=${NOPE:-d}", { X: ":-d}" }],
    ["${X:-d} with X set", "A=v\nX=${A:-d}", { A: "v", X: "v:-d}" }],
    ["${X-d} likewise", "A=v\nX=${A-d}", { A: "v", X: "v-d}" }],
    ["a stray } after $X is swallowed", "A=x\nX=$A}", { A: "x", X: "x" }],
    ["$(X) expands $(X and keeps )", "A=x\nX=$(A)", { A: "x", X: "x)" }],
    ["$(cmd) in lower case is literal", "X=$(echo hi)", { X: "$(echo hi)" }],
    ["$$ stays", "X=$$", { X: "$$" }],
    ["a lone $ stays", 'X="$"', { X: "$" }],
    ["${} stays", "X=${}", { X: "${}" }],
    ["duplicate keys: the last wins", "X=1\nX=2\nY=$X", { X: "2", Y: "2" }],
  ])("%s", (_name, text, vars) => {
    expect(parse(text)).toStrictEqual(vars);
  });

  it("COMPOSE_FILE accumulates across lines", () => {
    const text = [
      'COMPOSE_FILE="compose.yml"',
      'COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"',
      '# COMPOSE_FILE="$COMPOSE_FILE:compose.sonic.yml"',
      "COMPOSE_FILE=$COMPOSE_FILE:compose.smtp.yml",
      "COMPOSE_FILE='$COMPOSE_FILE:literal.yml'",
    ].join("\n");
    const { entries, vars } = parseDotenv(text, "app.env");
    expect(entries.map((e) => e.value)).toStrictEqual([
      "compose.yml",
      "compose.yml:compose.postgres.yml",
      "compose.yml:compose.postgres.yml:compose.smtp.yml",
      "$COMPOSE_FILE:literal.yml",
    ]);
    expect(vars).toStrictEqual({ COMPOSE_FILE: "$COMPOSE_FILE:literal.yml" });
  });
});

describe("variable expansion with a lookup (the process environment)", () => {
  const env: Vars = { HOME: "/root", A: "from-env", EMPTY: "", lower: "nope" };
  const lookup = (n: string) => env[n];

  it.each<Case>([
    ["falls back to the lookup", "X=$HOME/x", { X: "/root/x" }],
    ["an earlier key beats the lookup", "A=from-file\nX=$A", { A: "from-file", X: "from-file" }],
    ["a later key does not: the lookup answers", "X=$A\nA=from-file", { X: "from-env", A: "from-file" }],
    ["an empty lookup value is empty", "X=[$EMPTY]", { X: "[]" }],
    ["unknown to both is empty", "X=[$NOPE]", { X: "[]" }],
    ["single quotes never look up", "X='$HOME'", { X: "$HOME" }],
    ["lower-case names never look up", "X=$lower", { X: "$lower" }],
    ["no default syntax with a lookup either", "X=${HOME:-/tmp}", { X: "/root:-/tmp}" }],
    ["an empty earlier key hides the lookup", "HOME=\nX=[$HOME]", { HOME: "", X: "[]" }],
  ])("%s", (_name, text, vars) => {
    expect(parse(text, lookup)).toStrictEqual(vars);
  });

  it("asks the lookup only for upper-case names not defined earlier", () => {
    const asked: string[] = [];
    parseDotenv("A=1\nX=$A $B ${C} $d $(E) \\$F", "app.env", (n) => {
      asked.push(n);
      return undefined;
    });
    expect(asked).toStrictEqual(["B", "C", "E"]);
  });
});

describe("keys: export, yaml style, names", () => {
  it.each<Case>([
    ["export prefix", "export OPTION_A=2", { OPTION_A: "2" }],
    ["export with a tab", "export\tOPTION_A=2", { OPTION_A: "2" }],
    ["indented export", "  export OPTION_A=2", { OPTION_A: "2" }],
    ["exportFOO is a name", "exportFOO=2", { exportFOO: "2" }],
    ["export_FOO is a name", "export_FOO =2", { export_FOO: "2" }],
    ["export with single quotes", "export OPTION_B='\\n'", { OPTION_B: "\\n" }],
    ["KEY: value", "OPTION_A: 1", { OPTION_A: "1" }],
    ["KEY: value with =", "OPTION_A: Foo=bar", { OPTION_A: "Foo=bar" }],
    ["= before : is not yaml style", "OPTION_A=1:B", { OPTION_A: "1:B" }],
    [": before = is yaml style", "A:B=1", { A: "B=1" }],
    ["export with yaml style", "export A: 1", { A: "1" }],
    ["blanks around the key", "\t A\t=\t1\t", { A: "1" }],
    ["dots in names", "FOO.BAR=foobar", { "FOO.BAR": "foobar" }],
    ["a blank inside a name is kept", "MY KEY=1", { "MY KEY": "1" }],
    ["an empty name", '="value"', { "": "value" }],
    ["a last line without = or newline is the empty key's value", "A=1\nFOO", { A: "1", "": "FOO" }],
    ["a bare export at end of file likewise", "export", { "": "export" }],
  ])("%s", (_name, text, vars) => {
    expect(parse(text)).toStrictEqual(vars);
  });
});

describe("empty values, = in values, line endings", () => {
  it.each<Case>([
    ["KEY= at end of file", "A=", { A: "" }],
    ["KEY= with trailing blanks", "A= \t", { A: "" }],
    ["KEY= before another line", "A=\nB=1", { A: "", B: "1" }],
    ["unquoted blanks are trimmed, inner ones kept", "KEY=  value value  ", { KEY: "value value" }],
    [
      "= inside a value",
      "A=postgres://h:5432/db?sslmode=disable",
      { A: "postgres://h:5432/db?sslmode=disable" },
    ],
    ["trailing =", "FOO=foobar=", { FOO: "foobar=" }],
    ["leading =", "A==1", { A: "=1" }],
    ["CRLF line endings", "A=1\r\nB=two words\r\n", { A: "1", B: "two words" }],
    ["CRLF inside a multi-line quoted value becomes LF", 'A="x\r\ny"\r\nB=2\r\n', { A: "x\ny", B: "2" }],
    ["CRLF after an empty value", "X=\r\nY=1\r\n", { X: "", Y: "1" }],
    ["a lone CR ends an unquoted value", "X=a\rY=1", { X: "a", Y: "1" }],
  ])("%s", (_name, text, vars) => {
    expect(parse(text)).toStrictEqual(vars);
  });
});

describe("entries: order, line numbers, abra modifiers", () => {
  it("records each assignment in order with its line and modifiers", () => {
    const text = [
      "# header",
      "A=1",
      'export B="two',
      'lines" # length=8',
      "",
      "C=v1 # length=32 charset=hex, generated",
      "A=3",
    ].join("\n");
    expect(parseDotenv(text, "app.env")).toStrictEqual({
      entries: [
        { key: "A", value: "1", line: 2, modifiers: {} },
        { key: "B", value: "two\nlines", line: 3, modifiers: { length: "8" } },
        { key: "C", value: "v1", line: 6, modifiers: { length: "32", charset: "hex," } },
        { key: "A", value: "3", line: 7, modifiers: {} },
      ],
      vars: { A: "3", B: "two\nlines", C: "v1" },
    });
  });

  it.each<[text: string, value: string, modifiers: Vars]>([
    ["S=v1 # length=32", "v1", { length: "32" }],
    ["S=v1 #length=32", "v1", { length: "32" }],
    ["S=v1\t# length=64 ", "v1", { length: "64" }],
    ['S="v1" # length=32', "v1", { length: "32" }],
    ["S='v1'   #length=16", "v1", { length: "16" }],
    ["S=v1 # a # length=32", "v1 # a", { length: "32" }],
    ["S=v1# length=32", "v1# length=32", {}],
    ["S= # length=32", "# length=32", {}],
    ["S=v1 # see https://example.org/?a=b", "v1", {}],
    ["S=v1 # plain words", "v1", {}],
    ['S="v1"\n# length=32', "v1", {}],
  ])("%j → value %j, modifiers %j", (text, value, modifiers) => {
    expect(parseDotenv(text, "app.env").entries).toStrictEqual([{ key: "S", value, line: 1, modifiers }]);
  });

  it("reads a real recipe's .env.sample (bonfire-networks/bonfire-coop-cloud, excerpt)", () => {
    const text = [
      "TYPE=bonfire",
      "",
      "# enter your instance's domain name",
      "DOMAIN=bonfire.example.com",
      "#EXTRA_DOMAINS=', `www.bonfire.example.com`'",
      'COMPOSE_FILE="compose.yml"',
      'COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"',
      "SECRET_POSTGRES_PASSWORD_VERSION=v1",
      '# COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.tune.yml"',
      'COMPOSE_FILE="$COMPOSE_FILE:compose.meilisearch.yml"',
      "OAUTH_ISSUER=https://${DOMAIN}",
      "SECRET_SECRET_KEY_BASE_VERSION=v1 # length=128",
      "",
    ].join("\n");
    const { entries, vars } = parseDotenv(text, ".env.sample");
    expect(vars).toStrictEqual({
      TYPE: "bonfire",
      DOMAIN: "bonfire.example.com",
      COMPOSE_FILE: "compose.yml:compose.postgres.yml:compose.meilisearch.yml",
      SECRET_POSTGRES_PASSWORD_VERSION: "v1",
      OAUTH_ISSUER: "https://bonfire.example.com",
      SECRET_SECRET_KEY_BASE_VERSION: "v1",
    });
    expect(entries.at(-1)).toStrictEqual({
      key: "SECRET_SECRET_KEY_BASE_VERSION",
      value: "v1",
      line: 12,
      modifiers: { length: "128" },
    });
  });
});

describe("errors", () => {
  const NO_EQUALS = 'expected KEY=VALUE but the line has no "=" (nor yaml-style ":")';
  // Every hint, written out: they are what the user reads next to the message.
  const LINE_HINT =
    "write KEY=VALUE; start comment lines with #; quote values that contain spaces, # or line breaks";
  const NAME_HINT =
    'names may contain only letters, digits, "_" and "."; write KEY=VALUE; quote values containing spaces';
  const DASH_HINT = 'godotenv v1.5 (used by abra) refuses "-" in names: use "_" instead';
  const QUOTE_HINT =
    'quotes belong after "=" (KEY="value"); if a quoted value above ends in \\\\" godotenv v1.5 did not end it there: drop the backslashes or use single quotes';
  const BOM_HINT = "save the file as UTF-8 without a BOM";
  const EXPORT_HINT = "write export KEY=VALUE, or remove the line";
  const UNTERMINATED_HINT =
    'close the quote; a quote right after a backslash never closes the value (write \\" for a literal quote inside double quotes)';
  it.each<[name: string, text: string, message: string, hint: string]>([
    ["a line without =", "A=1\nINVALID LINE\nB=2", `app.env:2: ${NO_EQUALS}`, LINE_HINT],
    ["an unquoted value continued on the next line", "A=one\ntwo\n", `app.env:2: ${NO_EQUALS}`, LINE_HINT],
    ["a bare word before a newline", "A=1\nFOO\n", `app.env:2: ${NO_EQUALS}`, LINE_HINT],
    ["export then a newline", "export \nA=1", `app.env:1: ${NO_EQUALS}`, LINE_HINT],
    [
      "$ in a name",
      "lol$wut",
      'app.env:1: unexpected character "$" in a variable name (column 4)',
      NAME_HINT,
    ],
    [
      "- in a name",
      "OK=1\nMY-KEY=1",
      'app.env:2: unexpected character "-" in a variable name (column 3)',
      DASH_HINT,
    ],
    [
      "a quoted name",
      '"A"=1',
      'app.env:1: unexpected character "\\"" in a variable name (column 1)',
      QUOTE_HINT,
    ],
    [
      "a non-ASCII name godotenv refuses",
      "é=1",
      'app.env:1: unexpected character "é" in a variable name (column 1)',
      NAME_HINT,
    ],
    [
      "an invisible character in a name",
      "A\u2003B=1",
      "app.env:1: unexpected character U+2003 in a variable name (column 2)",
      NAME_HINT,
    ],
    ["a byte-order mark", "\uFEFFA=1", "app.env:1: the file starts with a byte-order mark", BOM_HINT],
    ['"export" and nothing else', "A=1\nexport ", 'app.env:2: "export" without a variable name', EXPORT_HINT],
    [
      "unterminated double quote",
      'A=1\nB="open\nC=3',
      "app.env:2: unterminated double-quoted value for B",
      UNTERMINATED_HINT,
    ],
    [
      "unterminated single quote",
      "B='x",
      "app.env:1: unterminated single-quoted value for B",
      UNTERMINATED_HINT,
    ],
    [
      "v1.5.1: a quote after \\\\ does not close",
      'X="abc\\\\"',
      "app.env:1: unterminated double-quoted value for X",
      UNTERMINATED_HINT,
    ],
    [
      "v1.5.1: a quote after \\\\ reads on into the next line",
      'A="x\\\\" # c\nB="y"',
      'app.env:2: unexpected character "\\"" in a variable name (column 5)',
      QUOTE_HINT,
    ],
    [
      "line numbers count lines inside quoted values",
      'A="1\n2\n3"\nbad line\n',
      `app.env:4: ${NO_EQUALS}`,
      LINE_HINT,
    ],
    ["line numbers with CRLF", "A=1\r\nB=2\r\nbad\r\n", `app.env:3: ${NO_EQUALS}`, LINE_HINT],
    [
      "a single-quoted name",
      "'A'=1",
      'app.env:1: unexpected character "\'" in a variable name (column 1)',
      QUOTE_HINT,
    ],
    [
      "a byte-order mark further down",
      "A=1\n\uFEFFB=2",
      "app.env:2: a byte-order mark (U+FEFF) in a variable name",
      BOM_HINT,
    ],
    [
      "a byte-order mark inside a name",
      "AB\uFEFF=2",
      "app.env:1: a byte-order mark (U+FEFF) in a variable name",
      BOM_HINT,
    ],
    [
      "the column of a bad character right before the line end",
      "A=1\nAB-\nC=2",
      'app.env:2: unexpected character "-" in a variable name (column 3)',
      DASH_HINT,
    ],
    [
      "the column after a multi-line value",
      'A="x\ny"\n  B%=1',
      'app.env:3: unexpected character "%" in a variable name (column 4)',
      NAME_HINT,
    ],
    [
      "unterminated double quote for the empty key",
      '="open',
      "app.env:1: unterminated double-quoted value for the empty key",
      UNTERMINATED_HINT,
    ],
    [
      "unterminated single quote for the empty key",
      "  = 'open\n",
      "app.env:1: unterminated single-quoted value for the empty key",
      UNTERMINATED_HINT,
    ],
  ])("%s", (_name, text, message, hint) => {
    let caught: unknown;
    try {
      parseDotenv(text, "app.env");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    const err = caught as InputError;
    expect({ kind: err.kind, file: err.file, message: err.message }).toStrictEqual({
      kind: "env",
      file: "app.env",
      message,
    });
    expect(err.hint).toBe(hint);
  });

  it("never quotes the offending text (it may be a pasted secret)", () => {
    expect(() => parseDotenv("A=1\nhunter2 hunter2\n", "app.env")).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining("hunter2") }),
    );
  });
});

describe("readDotenv", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "imagekeeper-dotenv-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads and parses a file, with the lookup", () => {
    const file = path.join(dir, "app.env");
    writeFileSync(file, "A=1\r\nB=$A:$HOME # length=4\r\n");
    expect(readDotenv(file, (n) => (n === "HOME" ? "/root" : undefined))).toStrictEqual({
      entries: [
        { key: "A", value: "1", line: 1, modifiers: {} },
        { key: "B", value: "1:/root", line: 2, modifiers: { length: "4" } },
      ],
      vars: { A: "1", B: "1:/root" },
    });
  });

  it("reports the file in parse errors", () => {
    const file = path.join(dir, "bad.env");
    writeFileSync(file, "A=1\nnot an assignment\n");
    expect(() => readDotenv(file)).toThrow(
      expect.objectContaining({
        kind: "env",
        file,
        message: expect.stringMatching(/^.*bad\.env:2: expected KEY=VALUE/),
      }),
    );
  });

  it.each([
    ["a missing file", "missing.env", "ENOENT"],
    ["a directory", "a-dir", "EISDIR"],
  ])("%s is an env InputError", (_name, base, code) => {
    const file = path.join(dir, base);
    if (base === "a-dir") mkdirSync(file);
    let caught: unknown;
    try {
      readDotenv(file);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect(caught).toMatchObject({ kind: "env", file, message: `cannot read env file ${file}: ${code}` });
    expect((caught as InputError).hint).toBe(
      "check the path given with --env-file and that this user may read it",
    );
  });
});

// Character classes, one row per character. godotenv v1.5.1 has two notions of blank:
//  - isSpace (parser.go): " ", \t, \v, \f, \r, U+0085 (NEL) and U+00A0 (NBSP). These are skipped
//    around "=" and after `export`, trimmed from unquoted values, make the next `#` a comment, and
//    are allowed inside names;
//  - unicode.IsSpace, used only to find where a statement starts: isSpace plus \n and the other
//    Unicode White_Space characters (U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000),
//    not U+200B nor U+FEFF. Such a blank before a key is skipped; anywhere else it is text.
describe("blanks, per character", () => {
  const LENGTH_8 = { length: "8" };
  it.each<[name: string, blank: string, modifiers: Vars]>([
    ["space", " ", LENGTH_8],
    ["tab", "\t", LENGTH_8],
    ["vertical tab", "\v", LENGTH_8],
    ["form feed", "\f", LENGTH_8],
    // a lone CR also ends an unquoted value: the comment is then a comment line of its own
    ["carriage return", "\r", {}],
    ["NEL U+0085", "\u0085", LENGTH_8],
    ["NBSP U+00A0", "\u00a0", LENGTH_8],
  ])("%s is a godotenv blank", (_name, b, modifiers) => {
    expect(parse(`${b}A${b}=${b}v${b}`), "around the key, = and value").toStrictEqual({ A: "v" });
    expect(parse(`A=v${b}# length=8`), "before a comment").toStrictEqual({ A: "v" });
    expect(parseDotenv(`A=v${b}# length=8`, "app.env").entries[0]!.modifiers).toStrictEqual(modifiers);
    expect(parse(`export${b}A=1`), "after export").toStrictEqual({ A: "1" });
    expect(parse(`A${b}B=1`), "inside a name").toStrictEqual({ [`A${b}B`]: "1" });
  });

  it.each<[name: string, blank: string]>([
    ["U+1680 OGHAM SPACE MARK", "\u1680"],
    ["U+2000 EN QUAD", "\u2000"],
    ["U+2003 EM SPACE", "\u2003"],
    ["U+200A HAIR SPACE", "\u200a"],
    ["U+2028 LINE SEPARATOR", "\u2028"],
    ["U+2029 PARAGRAPH SEPARATOR", "\u2029"],
    ["U+202F NARROW NBSP", "\u202f"],
    ["U+205F MEDIUM MATHEMATICAL SPACE", "\u205f"],
    ["U+3000 IDEOGRAPHIC SPACE", "\u3000"],
  ])("%s is skipped before a statement only", (_name, b) => {
    expect(parse(`${b}A=1\n${b}${b}B=2`), "before a key").toStrictEqual({ A: "1", B: "2" });
    expect(parse(`A=${b}v${b}`), "not trimmed from a value").toStrictEqual({ A: `${b}v${b}` });
    expect(parse(`A=v${b}# c`), "not the blank before a comment").toStrictEqual({ A: `v${b}# c` });
  });

  it.each<[name: string, ch: string, message: string]>([
    [
      "U+200B ZERO WIDTH SPACE",
      "\u200b",
      "app.env:1: unexpected character U+200B in a variable name (column 1)",
    ],
    [
      "U+180E MONGOLIAN VOWEL SEPARATOR",
      "\u180e",
      "app.env:1: unexpected character U+180E in a variable name (column 1)",
    ],
    [
      "U+0085 is a blank but U+0084 is not",
      "\u0084",
      "app.env:1: unexpected character U+0084 in a variable name (column 1)",
    ],
  ])("%s is not skipped before a statement", (_name, ch, message) => {
    expect(() => parse(`${ch}A=1`)).toThrow(message);
  });
});

// godotenv judges a non-ASCII name character by its UTF-8 bytes read as Latin-1 (see isKeyChar):
// accepted when every byte is a Latin-1 letter (Ã=C3, Â=C2, ð=F0, ª=AA, µ=B5), number (²=B2,
// ³=B3, ¹=B9, ¼=BC, ½=BD, ¾=BE), NEL (85) or NBSP (A0).
describe("non-ASCII names, per character", () => {
  it.each<[ch: string, utf8: string]>([
    ["à", "C3 A0"],
    ["ª", "C2 AA"],
    ["µ", "C2 B5"],
    ["²", "C2 B2"],
    ["õ", "C3 B5"],
    ["ü", "C3 BC"],
    ["ý", "C3 BD"],
    ["\u{2AAAA}", "F0 AA AA AA"],
  ])("%j (%s) is accepted", (ch, _utf8) => {
    expect(parse(`A${ch}B=1\n${ch}=2\nC=3`)).toStrictEqual({ [`A${ch}B`]: "1", [ch]: "2", C: "3" });
  });

  it.each<[ch: string, utf8: string, shown: string]>([
    ["é", "C3 A9", '"é"'],
    ["Ü", "C3 9C", '"Ü"'],
    ["ß", "C3 9F", '"ß"'],
    ["ÿ", "C3 BF", '"ÿ"'],
    ["€", "E2 82 AC", '"€"'],
    ["\u0080", "C2 80", "U+0080"],
    ["\u00ad", "C2 AD", "U+00AD"],
    ["\u{1F600}", "F0 9F 98 80", '"\u{1F600}"'],
  ])("%j (%s) is refused", (ch, _utf8, shown) => {
    expect(() => parse(`AB${ch}=1`)).toThrow(
      `app.env:1: unexpected character ${shown} in a variable name (column 3)`,
    );
  });

  it("ASCII: letters, digits, _ and . are name characters; other printable characters are not", () => {
    const accepted = [...Array(0x7f - 0x20).keys()]
      .map((i) => String.fromCharCode(0x20 + i))
      .filter((ch) => {
        try {
          return parse(`A${ch}B=1`)[`A${ch}B`] === "1";
        } catch {
          return false;
        }
      })
      .join("");
    expect(accepted).toBe(" .0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz");
  });
});
