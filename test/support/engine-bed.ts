// One private engine for tests that call the prune executors IN-PROCESS (runPrune, gapPrune:
// test/integration/run-prune.itg.test.ts): a dockerd whose data root is a small loop-mounted ext4,
// made a one-node swarm, plus a docker client wrapper that talks to it. Started once per test
// process: by the file's beforeAll under the integration config, or once per Stryker test runner
// by test/support/engine-bed-setup.ts (globalSetup of vitest.config.mutation-engine.ts), so that a
// mutant run does not pay for a daemon. A watchdog process stops the daemon by its PID and unmounts
// the disk if the process that started them dies without its teardown (Stryker kills a test runner
// whose mutant timed out).
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DOCKER_CLI, makeLoopDisk, startDaemon, tempDir } from "./testbed.js";

export interface EngineBedInfo {
  /** The daemon's socket (DOCKER_HOST=unix://…). */
  socket: string;
  /** Environment for docker clients talking to it (DOCKER_HOST, DOCKER_CONFIG, HOME). */
  env: Record<string, string>;
  /** An executable that runs the docker client against this daemon (config.docker). */
  dockerWrapper: string;
  /** The loop-mounted filesystem holding the data root. */
  diskDir: string;
  /** The daemon's data root (DockerRootDir), on that filesystem. */
  dataRoot: string;
  /** A scratch directory for state and run dirs (removed with the bed). */
  scratch: string;
  pid: number;
}

export interface EngineBed {
  info: EngineBedInfo;
  stop(): Promise<void>;
}

export async function startEngineBed(sizeMiB = 256): Promise<EngineBed> {
  const loop = makeLoopDisk(sizeMiB);
  const scratch = tempDir("ikbed");
  let stopWatchdog = () => {};
  try {
    const d = await startDaemon({ dataRoot: path.join(loop.dir, "docker") });
    // The watchdog: polls the test process; once it is gone, stops the daemon by PID and unmounts.
    const img = `${loop.dir}.img`;
    const watchdog = spawn(
      "sh",
      [
        "-c",
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
         kill -TERM ${d.pid} 2>/dev/null; i=0
         while kill -0 ${d.pid} 2>/dev/null && [ $i -lt 20 ]; do sleep 1; i=$((i+1)); done
         kill -KILL ${d.pid} 2>/dev/null
         grep -o -e ' ${d.dir}[^ ]*' -e ' ${loop.dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l
         umount ${loop.dir} 2>/dev/null || umount -l ${loop.dir}
         rm -rf ${d.dir} ${scratch} ${loop.dir} ${img}`,
      ],
      { detached: true, stdio: "ignore" },
    );
    watchdog.unref();
    stopWatchdog = () => {
      try {
        if (watchdog.pid) process.kill(watchdog.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    await d.swarmInit();
    const dockerWrapper = path.join(scratch, "docker");
    writeFileSync(
      dockerWrapper,
      `#!/bin/sh\nexport DOCKER_HOST='${d.env.DOCKER_HOST}' DOCKER_CONFIG='${d.env.DOCKER_CONFIG}'\nexec ${DOCKER_CLI} "$@"\n`,
    );
    chmodSync(dockerWrapper, 0o755);
    mkdirSync(path.join(scratch, "t"));
    return {
      info: {
        socket: d.socket,
        env: d.env,
        dockerWrapper,
        diskDir: loop.dir,
        dataRoot: d.dataRoot,
        scratch,
        pid: d.pid,
      },
      async stop() {
        // The watchdog last: if this process is killed half way (Stryker ends a runner that does
        // not close in time), it finishes the job.
        await d.stop();
        loop.unmount();
        rmSync(scratch, { recursive: true, force: true });
        stopWatchdog();
      },
    };
  } catch (e) {
    stopWatchdog();
    loop.unmount();
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
}
