// What a report says about the host it was made on: the kernel, the tiers this host offers (and
// what each is made of, or what it lacks), the accelerator a microVM tier could use. Read once,
// as plain data; `/dev/kvm` is probed, never assumed.
import { accessSync, constants, existsSync } from "node:fs";
import { arch, hostname, release, version } from "node:os";
import type { Tier } from "../enforcers.js";
import type { Availability } from "../tier/tool-host.js";

export interface TierFact {
  readonly tier: string;
  readonly ok: boolean;
  /** The layers (outside in) when offered, or what is missing. */
  readonly detail: string;
}

export interface HostFacts {
  readonly hostname: string;
  readonly kernel: string;
  readonly kernelVersion: string;
  readonly arch: string;
  readonly node: string;
  readonly tiers: readonly TierFact[];
  /** "kvm (/dev/kvm read-write)", "none: ..." */
  readonly accelerator: string;
}

export interface HostProbe {
  readonly exists: (path: string) => boolean;
  readonly readWrite: (path: string) => boolean;
}

const REAL_PROBE: HostProbe = {
  exists: existsSync,
  readWrite: (path) => {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
};

/** The accelerator a VM tier could use here, as one line. */
export function acceleratorOf(probe: HostProbe = REAL_PROBE): string {
  if (!probe.exists("/dev/kvm")) return "none: no /dev/kvm (a microVM tier would run under TCG emulation)";
  if (!probe.readWrite("/dev/kvm")) return "none: /dev/kvm present but not read-write for this user";
  return "kvm: /dev/kvm present and read-write (not proven to boot a guest)";
}

/** Every tier a driver exists for on this build, with what this host makes of it. */
export function tierFacts(driverOf: (tier: Tier) => { readonly availability: Availability } | undefined): TierFact[] {
  const facts: TierFact[] = [];
  for (const tier of TIERS) {
    const a = driverOf(tier)?.availability;
    if (a === undefined) facts.push({ tier, ok: false, detail: "no driver in this build" });
    else facts.push(a.ok ? { tier, ok: true, detail: a.layers.join(" + ") } : { tier, ok: false, detail: a.missing });
  }
  return facts;
}

const TIERS: readonly Tier[] = ["wasm", "process", "container", "microvm"];

export function hostFacts(tiers: readonly TierFact[], probe: HostProbe = REAL_PROBE): HostFacts {
  return Object.freeze({
    hostname: hostname(),
    kernel: release(),
    kernelVersion: version(),
    arch: arch(),
    node: process.version,
    tiers,
    accelerator: acceleratorOf(probe),
  });
}
