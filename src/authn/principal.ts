// The token verifier's contract: a bearer token in, a Principal out (or an AuthnError).

import type { Principal } from "../types/principal.js";

export type { Principal } from "../types/principal.js";

/** Verifies a bearer token; throws an AuthnError (ERR_AUTHN_*) on any failure. */
export type TokenVerifier = (token: string) => Promise<Principal>;
