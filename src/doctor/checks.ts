// `imagekeeper doctor`'s judgements: plain facts about this host (facts.ts gathers them) in, one
// result per check out, each ok, warn or fail with the fix. Pure, so every branch is a table row
// in test/unit/doctor.test.ts; the command fails (exit 1) when any check fails.
import { sameRegistry, resolveRegistry } from "../auth/registry.js";

export type CheckStatus = "ok" | "warn" | "fail";

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

export interface DirFacts {
  path: string;
  exists: boolean;
  uid?: number;
  gid?: number;
  mode?: number;
  /** This process may create files in it (access W_OK|X_OK). */
  writable: boolean;
  error?: string;
}

export interface UserFacts {
  uid: number;
  name: string;
  /** The groups this process has now (what the kernel checks). */
  groups: number[];
  /** Groups the account database lists the user in (takes effect at the next login). */
  listedIn: number[];
}

export interface DoctorFacts {
  now: number;
  configPath: string | undefined;
  docker: { binary: string; path?: string; version?: string; stackConfig: boolean; error?: string };
  daemon: {
    endpoint: string;
    /** Connection error code (EACCES, ENOENT, ECONNREFUSED, …) or message when /_ping failed. */
    error?: string;
    serverVersion?: string;
    rootDir?: string;
    /** The daemon's clock (/info SystemTime) and our clock when we asked and when it answered. */
    systemTime?: string;
    askedAt?: number;
    answeredAt?: number;
  };
  /** The daemon's unix socket, when it is one. */
  socket?: { path: string; uid: number; gid: number; mode: number };
  runDir: DirFacts;
  stateDir: DirFacts;
  user: UserFacts;
  groupName: (gid: number) => string;
  userName: (uid: number) => string;
  tools: { flock?: string; setpriv?: string; pdeathsig: boolean };
  dockerConfig: {
    file: string;
    exists: boolean;
    error?: string;
    credsStore?: string;
    credHelpers: Record<string, string>;
    auths: string[];
    /** docker-credential-NAME on PATH, for each helper named. */
    helperFound: Record<string, boolean>;
  };
}

/** Clock skew between us and the daemon above this is worth a warning, above FAIL a failure. */
export const SKEW_WARN_MS = 5_000;
export const SKEW_FAIL_MS = 300_000;
/** A clock before this is certainly wrong (a host without a real-time clock, before NTP). */
export const NOT_BEFORE = Date.parse("2025-01-01T00:00:00Z");

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0");

function dockerClient(f: DoctorFacts): CheckResult {
  const base = { id: "docker-client", title: "docker client" };
  if (!f.docker.path)
    return {
      ...base,
      status: "fail",
      message: `${f.docker.binary} not found on PATH${f.docker.error ? ` (${f.docker.error})` : ""}`,
      fix: "Install a docker CLI 23 or later, or point config docker / IMAGEKEEPER_DOCKER at one.",
    };
  const v = `${f.docker.version ? `docker ${f.docker.version}` : "docker (version unknown)"} at ${f.docker.path}`;
  if (!f.docker.stackConfig)
    return {
      ...base,
      status: "fail",
      message: `${v} has no \`docker stack config\`, which resolves recipes as a stack deploy does`,
      fix: "Install a docker CLI 23 or later (Debian 12's own is 20.10), or point config docker / IMAGEKEEPER_DOCKER at one.",
    };
  return { ...base, status: "ok", message: `${v}, has docker stack config` };
}

function daemon(f: DoctorFacts): CheckResult {
  const base = { id: "daemon", title: "docker daemon" };
  const d = f.daemon;
  if (d.error === undefined)
    return {
      ...base,
      status: "ok",
      message: `Docker Engine ${d.serverVersion ?? "?"} at ${d.endpoint}${d.rootDir ? `, root dir ${d.rootDir}` : ""}`,
    };
  if (d.error === "EACCES" || d.error === "EPERM")
    return {
      ...base,
      status: "fail",
      message: `${d.endpoint}: permission denied`,
      fix: f.socket
        ? `This user (${f.user.name}) must be in the socket's group ${f.groupName(f.socket.gid)}: usermod -aG ${f.groupName(f.socket.gid)} ${f.user.name}, then log in again.`
        : "Run as a user that may use the daemon's socket.",
    };
  if (d.error === "ENOENT" || d.error === "ECONNREFUSED")
    return {
      ...base,
      status: "fail",
      message: `${d.endpoint}: no daemon listening (${d.error})`,
      fix: "Start the daemon (systemctl start docker), or point DOCKER_HOST at its socket.",
    };
  return {
    ...base,
    status: "fail",
    message: `${d.endpoint}: ${d.error}`,
    fix: "Check that the daemon runs and DOCKER_HOST (unix:// or plain tcp://) names it.",
  };
}

/** Added to the group since this session started: the kernel does not know yet. */
function notYetInSession(base: { id: string; title: string }, user: string, group: string): CheckResult {
  return {
    ...base,
    status: "fail",
    message: `${user} is listed in ${group}, but this session does not have the group yet`,
    fix: "Log in again (or restart the runner service) so the new group takes effect.",
  };
}

/** Whether this process can reach the daemon's socket, and why not. */
function socketAccess(f: DoctorFacts): CheckResult | undefined {
  const s = f.socket;
  if (!s) return undefined;
  const base = { id: "docker-group", title: "socket access" };
  const group = f.groupName(s.gid);
  const u = f.user;
  if (u.uid === 0) return { ...base, status: "ok", message: `root may use ${s.path}` };
  if (u.uid === s.uid) return { ...base, status: "ok", message: `${u.name} owns ${s.path}` };
  if (u.groups.includes(s.gid))
    return {
      ...base,
      status: "ok",
      message: `${u.name} is in ${group}, the group of ${s.path} (mode ${octal(s.mode)})`,
    };
  if ((s.mode & 0o006) === 0o006)
    return {
      ...base,
      status: "warn",
      message: `${s.path} is open to every user (mode ${octal(s.mode)})`,
      fix: "Restrict the socket to the docker group (mode 0660): any user can act as root through it.",
    };
  if (u.listedIn.includes(s.gid)) return notYetInSession(base, u.name, group);
  return {
    ...base,
    status: "fail",
    message: `${u.name} is not in ${group}, the group of ${s.path}`,
    fix: `usermod -aG ${group} ${u.name}, then log in again (or restart the runner service).`,
  };
}

function sharedDir(
  d: DirFacts,
  f: DoctorFacts,
  o: { id: string; title: string; key: string; env: string; mode: string; what: string },
): CheckResult {
  const base = { id: o.id, title: o.title };
  if (!d.exists)
    return {
      ...base,
      status: d.writable ? "warn" : "fail",
      message: `${d.path} does not exist${d.writable ? `; the first command creates it (mode ${o.mode}), owned by whoever runs first` : ", and this user cannot create it"}${d.error ? ` (${d.error})` : ""}`,
      fix: `Create it for the runner and the prune service: systemd-tmpfiles "d ${d.path} ${o.mode} root imagekeeper" (the NixOS module does), or set ${o.key} / ${o.env}.`,
    };
  const mode = d.mode ?? 0;
  const owner = `${f.userName(d.uid ?? -1)}:${f.groupName(d.gid ?? -1)} ${octal(mode)}`;
  const problems: string[] = [];
  if (!(mode & 0o2000))
    problems.push(
      "not setgid (files would get their creator's primary group, which the other users of the dir may not share)",
    );
  if ((mode & 0o070) !== 0o070) problems.push("not group-writable (rwx for the group)");
  if (problems.length)
    return {
      ...base,
      status: "fail",
      message: `${d.path} (${owner}): ${problems.join("; ")}`,
      fix: `chmod ${o.mode} ${d.path} (and chgrp it to the group the runner and the prune service share).`,
    };
  if (!d.writable)
    return {
      ...base,
      status: "fail",
      message: `${d.path} (${owner}): this user (${f.user.name}) cannot ${o.what} in it`,
      fix: `Add ${f.user.name} to ${f.groupName(d.gid ?? -1)} (usermod -aG), then log in again.`,
    };
  if (o.id === "run-dir" && mode & 0o002)
    return {
      ...base,
      status: "warn",
      message: `${d.path} (${owner}) is writable by every user: anyone may take leases and block prunes`,
      fix: `chmod o-rwx ${d.path}`,
    };
  return { ...base, status: "ok", message: `${d.path} (${owner}), ${f.user.name} may ${o.what} in it` };
}

/** The group the run dir shares between the runner and the prune service, and our place in it. */
function sharedGroup(f: DoctorFacts): CheckResult | undefined {
  const d = f.runDir.exists ? f.runDir : f.stateDir.exists ? f.stateDir : undefined;
  if (!d || d.gid === undefined) return undefined;
  const base = { id: "group", title: "shared group" };
  const g = f.groupName(d.gid);
  const u = f.user;
  if (u.uid === 0) return { ...base, status: "ok", message: `root (the shared group is ${g})` };
  if (u.groups.includes(d.gid))
    return { ...base, status: "ok", message: `${u.name} is in ${g}, the group of ${d.path}` };
  if (u.listedIn.includes(d.gid)) return notYetInSession(base, u.name, g);
  if (u.uid === d.uid)
    return {
      ...base,
      status: "warn",
      message: `${u.name} owns ${d.path} but is not in its group ${g}`,
      fix: `usermod -aG ${g} ${u.name}, so files it creates stay usable by the other users of ${g}.`,
    };
  return {
    ...base,
    status: "fail",
    message: `${u.name} is not in ${g}, the group of ${d.path}`,
    fix: `usermod -aG ${g} ${u.name} (the runner and the prune service must share it), then log in again.`,
  };
}

function tools(f: DoctorFacts): CheckResult {
  const base = { id: "tools", title: "flock, setpriv" };
  const missing = [...(f.tools.flock ? [] : ["flock"]), ...(f.tools.setpriv ? [] : ["setpriv"])];
  if (missing.length)
    return {
      ...base,
      status: "fail",
      message: `${missing.join(" and ")} not found on PATH: run leases (imagekeeper run, lease acquire) cannot work`,
      fix: "Install util-linux (Debian: apt-get install util-linux); the Nix package puts it on PATH.",
    };
  if (!f.tools.pdeathsig)
    return {
      ...base,
      status: "fail",
      message: `${f.tools.setpriv} has no --pdeathsig (util-linux too old)`,
      fix: "Install util-linux 2.33 or later.",
    };
  return { ...base, status: "ok", message: `${f.tools.flock}, ${f.tools.setpriv} (--pdeathsig)` };
}

function credentials(f: DoctorFacts): CheckResult {
  const base = { id: "credentials", title: "docker credentials" };
  const c = f.dockerConfig;
  if (c.error)
    return {
      ...base,
      status: "fail",
      message: `${c.file}: ${c.error}`,
      fix: "Repair or move aside the docker client config; imagekeeper auth login writes a new one.",
    };
  const hub = resolveRegistry("docker.io");
  const problems: { status: CheckStatus; text: string; fix: string }[] = [];
  if (c.credsStore !== undefined && c.credsStore !== "" && !c.helperFound[c.credsStore])
    problems.push({
      status: "fail",
      text: `credsStore "${c.credsStore}" needs docker-credential-${c.credsStore}, which is not on PATH: every pull fails with "error getting credentials"`,
      fix: `Remove "credsStore" from ${c.file} (imagekeeper auth login writes plain auths entries), or install docker-credential-${c.credsStore}.`,
    });
  for (const [reg, helper] of Object.entries(c.credHelpers)) {
    if (helper !== "" && !c.helperFound[helper])
      problems.push({
        status: "fail",
        text: `credHelpers["${reg}"] needs docker-credential-${helper}, which is not on PATH: pulls from ${reg} fail`,
        fix: `Remove that entry from ${c.file}, or install docker-credential-${helper}.`,
      });
  }
  const hubAuths = c.auths.filter((k) => sameRegistry(k, hub));
  const hubHelper = Object.entries(c.credHelpers).find(([k]) => sameRegistry(k, hub));
  if (hubAuths.length && hubHelper)
    problems.push({
      status: "warn",
      text: `the Docker Hub entry in auths is not used: credHelpers["${hubHelper[0]}"] = "${hubHelper[1]}" is asked instead`,
      fix: `Remove credHelpers["${hubHelper[0]}"] from ${c.file} if the auths entry (imagekeeper auth login) should be used.`,
    });
  else if (hubAuths.length && c.credsStore)
    problems.push({
      status: "warn",
      text: `the Docker Hub entry in auths is not used: credsStore "${c.credsStore}" is asked for every registry instead`,
      fix: `Remove "credsStore" from ${c.file} if the auths entry (imagekeeper auth login) should be used.`,
    });
  if (!hubAuths.length && !hubHelper && !c.credsStore)
    problems.push({
      status: "warn",
      text: "no Docker Hub credential: pulls from Docker Hub are anonymous and share the per-IP rate limit",
      fix: "imagekeeper auth login --registry docker.io --username U --password-file F (docs/nixos.md: services.imagekeeper's token).",
    });
  if (!problems.length)
    return { ...base, status: "ok", message: `${c.exists ? c.file : `${c.file} (none yet)`}: no conflicts` };
  const worst = problems.some((p) => p.status === "fail") ? "fail" : "warn";
  const shown = problems.filter((p) => p.status === worst);
  return {
    ...base,
    status: worst,
    message: `${c.file}: ${shown.map((p) => p.text).join("; ")}`,
    fix: shown.map((p) => p.fix).join(" "),
  };
}

function clock(f: DoctorFacts): CheckResult {
  const base = { id: "clock", title: "clock" };
  if (f.now < NOT_BEFORE)
    return {
      ...base,
      status: "fail",
      message: `this host's clock says ${new Date(f.now).toISOString()}, which cannot be right`,
      fix: "Set the clock (timedatectl set-ntp true, or chrony/systemd-timesyncd): prune ages and registry tokens depend on it.",
    };
  const d = f.daemon;
  const daemonMs = d.systemTime ? Date.parse(d.systemTime) : Number.NaN;
  if (Number.isNaN(daemonMs) || d.askedAt === undefined || d.answeredAt === undefined)
    return {
      ...base,
      status: "ok",
      message: `${new Date(f.now).toISOString()} (the daemon's clock was not available to compare)`,
    };
  // The daemon read its clock somewhere between our request and its answer: compare with the middle.
  const skew = daemonMs - (d.askedAt + d.answeredAt) / 2;
  const abs = Math.abs(skew);
  const text = `the daemon's clock is ${(abs / 1000).toFixed(1)} s ${skew >= 0 ? "ahead of" : "behind"} ours`;
  if (abs > SKEW_FAIL_MS)
    return {
      ...base,
      status: "fail",
      message: text,
      fix: "Synchronise both clocks (NTP): image ages, prune windows and registry tokens disagree otherwise.",
    };
  if (abs > SKEW_WARN_MS)
    return { ...base, status: "warn", message: text, fix: "Synchronise both clocks (NTP)." };
  return { ...base, status: "ok", message: `in step with the daemon (${(abs / 1000).toFixed(1)} s apart)` };
}

export function runChecks(f: DoctorFacts): CheckResult[] {
  const out: CheckResult[] = [
    {
      id: "config",
      title: "config",
      status: "ok",
      message: f.configPath ? `${f.configPath} is valid` : "no config file: every key at its default",
    },
    dockerClient(f),
    daemon(f),
  ];
  const sock = socketAccess(f);
  // The daemon answered: whatever the modes say (an ACL, a proxy), this user may use it.
  if (sock && f.daemon.error === undefined && sock.status === "fail")
    out.push({
      id: sock.id,
      title: sock.title,
      status: "ok",
      message: `${f.user.name} may use ${f.socket!.path}`,
    });
  else if (sock) out.push(sock);
  out.push(
    sharedDir(f.runDir, f, {
      id: "run-dir",
      title: "run dir",
      key: "runDir",
      env: "IMAGEKEEPER_RUN_DIR",
      mode: "3770",
      what: "take leases",
    }),
    sharedDir(f.stateDir, f, {
      id: "state-dir",
      title: "state dir",
      key: "stateDir",
      env: "IMAGEKEEPER_STATE_DIR",
      mode: "2775",
      what: "write state",
    }),
  );
  const g = sharedGroup(f);
  if (g) out.push(g);
  out.push(tools(f), credentials(f), clock(f));
  return out;
}
