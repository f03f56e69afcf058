// Observability as named diagnostics_channel events; logging merely subscribes.
import { channel } from "node:diagnostics_channel";

export interface GuestLogged {
  readonly session: string;
  readonly tool: string;
  /** Guest-supplied text: show it to operators, never put it in the audit log. */
  readonly line: string;
}

/** A guest with the `log` grant wrote a line through `cordon.log`. */
export const guestLogged = channel("cordon.guest.logged");

export function publishGuestLog(event: GuestLogged): void {
  if (guestLogged.hasSubscribers) guestLogged.publish(event);
}
