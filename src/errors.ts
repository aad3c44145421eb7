// Named error classes. Modules throw these; only src/cli.ts maps them to exit codes and prints
// them (one paragraph, no stack trace). Each carries a hint that tells the user the fix.

export type InputKind =
  "usage" | "env" | "compose" | "interpolation" | "reference" | "config" | "git" | "credentials";

/** Bad input from the user: nothing was pulled or pruned. Exit 2. */
export class InputError extends Error {
  override name = "InputError";
  readonly kind: InputKind;
  readonly file: string | undefined;
  readonly hint: string | undefined;
  constructor(
    kind: InputKind,
    message: string,
    opts: { file?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.file = opts.file;
    this.hint = opts.hint;
  }
}

/** The Docker daemon cannot be reached (socket missing, refused, permission). Exit 3. */
export class DaemonUnavailableError extends Error {
  override name = "DaemonUnavailableError";
  readonly hint: string;
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.hint =
      opts.hint ??
      "Start the Docker daemon (systemctl start docker) or point DOCKER_HOST at its socket, and check that this user may use it (docker group).";
  }
}

/** A lease could not be had in time (a run waiting for a prune). Exit 4. */
export class LeaseTimeoutError extends Error {
  override name = "LeaseTimeoutError";
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

/** The user or the service manager asked us to stop (SIGINT/SIGTERM). */
export class InterruptedError extends Error {
  override name = "InterruptedError";
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.signal = signal;
  }
}

/** A subprocess could not be started, or a tool answered in a way we cannot use. */
export class ToolError extends Error {
  override name = "ToolError";
  readonly hint: string | undefined;
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.hint = opts.hint;
  }
}

/**
 * `imagekeeper run`: the command cannot be started, as a shell would say it: not found (127) or
 * found but not executable (126). Nothing was run and no lease was taken.
 */
export class CommandNotRunnableError extends Error {
  override name = "CommandNotRunnableError";
  readonly status: 126 | 127;
  readonly hint: string;
  constructor(message: string, status: 126 | 127, hint: string) {
    super(message);
    this.status = status;
    this.hint = hint;
  }
}
