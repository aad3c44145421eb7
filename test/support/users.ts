// Throwaway system users and a group for permission tests (root only): created with groupadd and
// useradd under names unique to this process, removed again by `remove()`. Commands run as them
// through setpriv with their supplementary groups, under a chosen umask.
import { execFileSync, spawnSync } from "node:child_process";
import { type CliResult, runProgram } from "./cli.js";

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

export interface TestUsers {
  group: { name: string; gid: number };
  users: TestUser[];
  remove(): void;
}

const idOf = (db: "passwd" | "group", name: string) =>
  Number(execFileSync("getent", [db, name], { encoding: "utf8" }).split(":")[2]);

/** A group `<tag>g<pid>` and `count` users in it (each with its own primary group). */
export function makeUsers(tag: string, count: number): TestUsers {
  const suffix = String(process.pid);
  const group = `${tag}g${suffix}`;
  execFileSync("groupadd", ["--system", group]);
  const users: TestUser[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = `${tag}${String.fromCharCode(97 + i)}${suffix}`;
      execFileSync("useradd", [
        "--system",
        "--user-group",
        "--groups",
        group,
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        name,
      ]);
      users.push({ name, uid: idOf("passwd", name), gid: idOf("group", name) });
    }
  } catch (e) {
    remove(users, group);
    throw e;
  }
  return { group: { name: group, gid: idOf("group", group) }, users, remove: () => remove(users, group) };
}

function remove(users: TestUser[], group: string): void {
  for (const u of users) spawnSync("userdel", [u.name], { stdio: "ignore" });
  spawnSync("groupdel", [group], { stdio: "ignore" });
}

/** argv that runs `argv` as `user` with its groups and `umask` (setpriv, then sh for the umask). */
export function asUserArgv(user: TestUser, argv: readonly string[], umask = "077"): string[] {
  return [
    "setpriv",
    "--reuid",
    String(user.uid),
    "--regid",
    String(user.gid),
    "--init-groups",
    "--",
    "sh",
    "-c",
    `umask ${umask}; exec "$@"`,
    "sh",
    ...argv,
  ];
}

/** Run `argv` as `user` to completion. */
export function runAs(
  user: TestUser,
  argv: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; umask?: string } = {},
): Promise<CliResult> {
  const [file, ...args] = asUserArgv(user, argv, opts.umask);
  return runProgram(file!, args, opts.env ? { env: opts.env } : {});
}
