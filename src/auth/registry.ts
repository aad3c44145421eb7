// Which registry a `--registry` argument names, and under which key the docker client looks its
// credentials up. Docker Hub is special: the client stores it under the legacy index URL, whatever
// name the user typed; every other registry is keyed by host[:port]. Pure, table-tested.
// Source: docker/cli cli/config/credentials (ConvertToHostname) and registry.IndexServer.
import { InputError } from "../errors.js";

/** The key the docker client reads Docker Hub credentials from. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";
/** Docker Hub's registry API (the index URL above serves no /v2/). */
const DOCKER_HUB_API = "registry-1.docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

export interface RegistryTarget {
  /** As the user wrote it. */
  input: string;
  /** auths/credHelpers key in config.json. */
  key: string;
  /** host[:port] of the registry API (/v2/). */
  apiHost: string;
  isDockerHub: boolean;
  /** 127.0.0.0/8, ::1 or localhost: the docker daemon allows plain HTTP there, and so do we. */
  isLoopback: boolean;
}

const HOST_PORT =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** host[:port] from anything docker accepts as a registry: "https://h:5000/v1/", "h:5000", "h". */
export function registryHostname(text: string): string {
  let s = text.trim();
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = s.indexOf("/");
  if (slash >= 0) s = s.slice(0, slash);
  return s.toLowerCase();
}

export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith("[")
    ? hostPort.slice(1, hostPort.indexOf("]"))
    : hostPort.replace(/:\d+$/, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function resolveRegistry(input: string): RegistryTarget {
  const host = registryHostname(input);
  if (!host || !HOST_PORT.test(host)) {
    throw new InputError("usage", `--registry "${input}" is not a registry host`, {
      hint: 'Give the registry as host[:port], e.g. "docker.io" for Docker Hub or "registry.example.org:5000".',
    });
  }
  if (DOCKER_HUB_ALIASES.has(host)) {
    return { input, key: DOCKER_HUB_KEY, apiHost: DOCKER_HUB_API, isDockerHub: true, isLoopback: false };
  }
  return { input, key: host, apiHost: host, isDockerHub: false, isLoopback: isLoopbackHost(host) };
}

/** Whether a config.json key (auths or credHelpers) names the same registry as `target`. */
export function sameRegistry(key: string, target: RegistryTarget): boolean {
  const host = registryHostname(key);
  if (target.isDockerHub) {
    // Stryker disable next-line ConditionalExpression: the key's host, index.docker.io, is an alias too; the exact test only short-cuts
    const isIndexKey = key === DOCKER_HUB_KEY;
    return isIndexKey || DOCKER_HUB_ALIASES.has(host);
  }
  return host === target.key;
}
