// A registry client for a reference, with this data directory's credentials for that
// registry (if any) and the deadlines given.
import { registryAuthPath, loadRegistryCredentials } from "./credentials.js";
import type { Deadlines } from "./http-transport.js";
import type { OciReference } from "./reference.js";
import { RegistryClient } from "./registry-client.js";

export function openRegistry(ref: OciReference, dataDir: string, deadlines?: Deadlines): RegistryClient {
  const credentials = loadRegistryCredentials(registryAuthPath(dataDir), ref.registry);
  return new RegistryClient({ registry: ref.registry, scheme: ref.scheme, credentials, ...(deadlines === undefined ? {} : { deadlines }) });
}
