// The daemon's registry settings (GET /info RegistryConfig) as the endpoint rules need them.
// Pure. Without an answer, the daemon's defaults: no mirrors, 127.0.0.0/8 insecure.
import type { RegistryConfig } from "../docker/engine.js";
import { type DaemonRegistryConfig, NO_DAEMON_REGISTRY_CONFIG } from "./endpoints.js";

export function daemonRegistryConfig(rc: RegistryConfig | undefined): DaemonRegistryConfig {
  if (!rc) return NO_DAEMON_REGISTRY_CONFIG;
  return {
    mirrors: rc.Mirrors ?? [],
    insecureCidrs: rc.InsecureRegistryCIDRs ?? [],
    insecureHosts: Object.entries(rc.IndexConfigs ?? {})
      .filter(([, v]) => v.Secure === false)
      .map(([k, v]) => v.Name ?? k),
  };
}
