// cpu-burn: deterministic, CPU-bound work for measuring cordon's fuel-metering overhead.
//
// cordon wasi-command tool (C, wasi-libc).
//   stdin:  {"n": N}          N: an integer, 0 <= N <= 1000000000
//   stdout: {"n":N,"result":R}
// Each of the N rounds advances a xorshift64 generator and sieves the primes below a bound
// (256..511) the generator picks, so the work is memory- and branch-heavy, grows linearly in
// N, and cannot be hoisted out of the loop. R is the low 53 bits of the folded state, so any
// JSON reader gets it exactly; the same N always gives the same R.
// Malformed input: {"error":"..."} and exit status 2. Imports only fd_read, fd_write, proc_exit.

#include "tool.h"

#define MAX_ROUNDS 1000000000u

static uint64_t burn(uint32_t rounds) {
  static unsigned char composite[512];
  uint64_t x = 0x9e3779b97f4a7c15ull, acc = 0;
  for (uint32_t i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    uint32_t limit = 256 + (uint32_t)(x & 255);
    for (uint32_t k = 0; k < limit; k++) composite[k] = 0;
    uint32_t primes = 0;
    for (uint32_t p = 2; p < limit; p++) {
      if (composite[p]) continue;
      primes++;
      for (uint32_t m = p * p; m < limit; m += p) composite[m] = 1;
    }
    acc = (acc * 31 + primes) ^ (x >> 11);
  }
  return acc & ((1ull << 53) - 1);
}

static int fail(const char *message) {
  json_out o = {0};
  jo_lit(&o, "{");
  jo_key(&o, 1, "error");
  jo_str(&o, message, strlen(message));
  jo_lit(&o, "}");
  jo_emit(&o);
  return 2;
}

int main(void) {
  size_t len;
  char *in = read_stdin(&len);
  if (!in) return fail("cannot read stdin");
  json_span n_text;
  const char *err = NULL;
  int found = json_member(in, len, "n", &n_text, &err);
  if (found < 0) return fail(err);
  // Accept plain digits only: no sign, fraction or exponent.
  uint64_t n = 0;
  int ok = found == 1 && n_text.len > 0 && n_text.len <= 10;
  for (size_t i = 0; ok && i < n_text.len; i++) {
    char c = n_text.p[i];
    ok = c >= '0' && c <= '9';
    n = n * 10 + (uint64_t)(c - '0');
  }
  if (!ok || n > MAX_ROUNDS) return fail("\"n\" must be an integer from 0 to 1000000000");

  uint64_t result = burn((uint32_t)n);
  json_out o = {0};
  jo_lit(&o, "{");
  jo_key(&o, 1, "n");
  jo_u64(&o, n);
  jo_key(&o, 0, "result");
  jo_u64(&o, result);
  jo_lit(&o, "}");
  return jo_emit(&o) == 0 ? 0 : 1;
}
