// The rule table as rows a human reads (`cordon prove` prints them), including what the
// compiled program does around the rules: the ABI check before them and the default after.

import type { ArgCondition, SeccompRule } from "./rules.js";

export interface RuleRow {
  /** "frame": part of every filter (ABI checks, default); "rule": a row of the table. */
  readonly kind: "frame" | "rule";
  readonly syscall: string;
  readonly condition: string;
  /** "EPERM (recorded)", "EPERM", "ENOSYS", "KILL (recorded)", "KILL" or "ALLOW". */
  readonly action: string;
  readonly why: string;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** The condition in C-like notation, exact for the full 64-bit argument (see rules.ts). */
export function describeCondition(when: ArgCondition | undefined): string {
  if (when === undefined) return "always";
  const arg = `arg${when.arg}`;
  switch (when.op) {
    case "eq":
      return `(u32)${arg} == ${hex(when.value)}`;
    case "ne":
      return `${arg} != ${hex(when.value)}`;
    case "masked-any":
      // a set high word counts as a match, which is exactly a 64-bit mask with the high word set
      return `${arg} & 0xffffffff${when.value.toString(16).padStart(8, "0")} != 0`;
  }
}

/** Rows `syscall | condition | action | why`, in the order the filter checks them. */
export function describeRules(rules: readonly SeccompRule[]): RuleRow[] {
  return [
    {
      kind: "frame",
      syscall: "*",
      condition: "arch word is not the native ABI",
      action: "KILL (recorded)",
      why: "a foreign ABI (i386 int 0x80, arm32 compat) numbers syscalls differently; the table would not apply",
    },
    {
      kind: "frame",
      syscall: "*",
      condition: "nr >= 0x40000000 (x86_64 x32 ABI)",
      action: "EPERM (recorded)",
      why: "x32 reaches the same syscalls under other numbers",
    },
    ...rules.map((rule): RuleRow => ({
      kind: "rule",
      syscall: rule.syscall,
      condition: describeCondition(rule.when),
      action: rule.action === "kill" ? "KILL" : rule.action === "deny" ? "EPERM (recorded)" : rule.errno,
      why: rule.why,
    })),
    {
      kind: "frame",
      syscall: "*",
      condition: "no row above matched",
      action: "ALLOW",
      why: "denylist: the sandboxed program is Node or a build tool",
    },
  ];
}
