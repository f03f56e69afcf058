// Policy evaluation is pure: (policy, principal, request) -> Decision. No I/O, no clock.
// The cell enforces the same answer physically (a tool outside the role is not loaded); this
// is the logical check that decides and explains.
import { InputInvalid, LimitExceeded, ToolNotFound, type CordonError, type Json } from "../errors.js";
import type { LoadedPolicy, LoadedTool } from "./load-policy.js";
import type { EnforcerName } from "../enforcers.js";
import type { Principal } from "../types/principal.js";

/** The only thing about a caller policy evaluation reads: its role. */
export type Caller = Pick<Principal, "role">;

export interface CallRequest {
  readonly tool: string;
  readonly input: Json;
  /** Size of the input as it will be sent to the guest. */
  readonly inputBytes: number;
}

export type Decision =
  | { readonly allow: true; readonly tool: LoadedTool }
  | { readonly allow: false; readonly enforcer: EnforcerName; readonly error: CordonError };

export function evaluate(policy: Pick<LoadedPolicy, "roles" | "tools">, principal: Caller, request: CallRequest): Decision {
  const allowed = policy.roles.get(principal.role);
  const tool = allowed?.includes(request.tool) === true ? policy.tools.get(request.tool) : undefined;
  if (tool === undefined) return { allow: false, enforcer: "role-toolset", error: new ToolNotFound(request.tool) };
  if (request.inputBytes > tool.limits.inputBytes) {
    return { allow: false, enforcer: "io-cap", error: new LimitExceeded("input", request.inputBytes, tool.limits.inputBytes) };
  }
  const issues = tool.validateInput(request.input);
  if (issues.length > 0) return { allow: false, enforcer: "input-schema", error: new InputInvalid(issues) };
  return { allow: true, tool };
}
