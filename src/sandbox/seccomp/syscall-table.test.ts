import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { DEFAULT_RULES } from "./rules.js";
import { ARCH_SPECS, archSpec, syscallNumber } from "./syscall-table.js";

// The numbers are checked against the kernel's uapi headers (Debian: linux-libc-dev). These
// files are required: a wrong number would make a deny rule hit some other syscall.
const HEADERS: Record<string, readonly string[]> = {
  x86_64: ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"],
  aarch64: ["/usr/include/asm-generic/unistd.h"],
};

function headerNumbers(kernelArch: string): Map<string, number> {
  const path = (HEADERS[kernelArch] ?? []).find((p) => existsSync(p));
  assert.ok(path !== undefined, `no kernel uapi header for ${kernelArch} (install linux-libc-dev)`);
  const text = readFileSync(path, "utf8");
  return new Map([...text.matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

void test("every number matches the kernel headers; every absent name is absent there", () => {
  for (const spec of ARCH_SPECS) {
    const header = headerNumbers(spec.kernelArch);
    assert.ok(header.size > 250, `${spec.kernelArch}: parsed ${header.size} syscalls`);
    for (const [name, number] of Object.entries(spec.numbers)) {
      assert.equal(number, header.get(name), `${name} on ${spec.kernelArch}`);
    }
    for (const name of spec.absent) assert.equal(header.has(name), false, `${name} exists on ${spec.kernelArch}`);
  }
});

void test("numbers are unique per arch, and every name is numbered or absent on every arch", () => {
  const names = new Set(ARCH_SPECS.flatMap((s) => [...Object.keys(s.numbers), ...s.absent]));
  for (const spec of ARCH_SPECS) {
    const values = Object.values(spec.numbers);
    assert.equal(new Set(values).size, values.length, `duplicate number on ${spec.kernelArch}`);
    for (const name of names) assert.notEqual(syscallNumber(spec, name), undefined, `${name} on ${spec.kernelArch}`);
    assert.equal(syscallNumber(spec, "toString"), undefined, "prototype names are not syscalls");
  }
});

void test("every syscall the rules name is known on every supported arch", () => {
  for (const spec of ARCH_SPECS) {
    for (const rule of DEFAULT_RULES) assert.notEqual(syscallNumber(spec, rule.syscall), undefined, `${rule.syscall} on ${spec.kernelArch}`);
  }
});

void test("audit arch words and the x32 bit", () => {
  assert.equal(archSpec("x64").auditArch, 0xc000003e);
  assert.equal(archSpec("x64").x32SyscallBit, 0x40000000);
  assert.equal(archSpec("arm64").auditArch, 0xc00000b7);
  assert.equal(archSpec("arm64").x32SyscallBit, null);
  assert.throws(() => archSpec("mips"), { code: "ERR_SECCOMP_ARCH_UNSUPPORTED", supported: ["x64", "arm64"] });
});
