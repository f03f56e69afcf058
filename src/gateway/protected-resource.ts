// OAuth 2.0 Protected Resource Metadata (RFC 9728) for the gateway: which resource this is
// (the audience tokens must carry) and which issuers it trusts.

export const WELL_KNOWN = "/.well-known/oauth-protected-resource";

export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly bearer_methods_supported: readonly string[];
  readonly resource_name: string;
}

export function protectedResourceMetadata(resource: string, issuers: readonly string[]): ProtectedResourceMetadata {
  return Object.freeze({
    resource,
    authorization_servers: Object.freeze([...issuers]),
    bearer_methods_supported: Object.freeze(["header"]),
    resource_name: "cordon MCP gateway",
  });
}

/** Paths the metadata is served at: the root well-known URI and the path-suffixed one (RFC 9728 §3.1). */
export function metadataPaths(resource: URL): string[] {
  const suffix = resource.pathname === "/" ? "" : resource.pathname;
  return suffix === "" ? [WELL_KNOWN] : [WELL_KNOWN, `${WELL_KNOWN}${suffix}`];
}
