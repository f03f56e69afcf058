// file-stats: line, word and byte counts and the SHA-256 of a file in the /data preopen.
//
// cordon wasi-command tool (C, wasi-libc).
//   stdin:  {"path": "notes.txt"}                      (relative to the preopen /data)
//   stdout: {"path":"notes.txt","lines":n,"words":n,"bytes":n,"sha256":"<hex>","label":"..."|null}
// lines: 0 for an empty file, else the number of '\n' plus one if the file does not end in one.
// words: maximal runs of bytes that are not ASCII whitespace.
// label: the STATS_LABEL environment variable, or null when it is unset.
// Errors: {"error":"...","errno":n} and exit status 1 (errno 28, EINVAL, for a bad request).
// It opens files with fopen and reads STATS_LABEL with getenv, so the tool needs an fs grant
// for /data and an env grant; cordon, not this tool, decides which paths resolve.

#include <stdio.h>

#include "tool.h"

// ---- SHA-256 (FIPS 180-4) -------------------------------------------------------------------

typedef struct {
  uint32_t h[8];
  uint64_t bytes;
  unsigned char block[64];
  size_t used;
} sha256_ctx;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(sha256_ctx *c) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, h0, sizeof h0);
  c->bytes = 0;
  c->used = 0;
}

static void sha256_block(sha256_ctx *c, const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
  uint32_t e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = cc;
    cc = b;
    b = a;
    a = t1 + t2;
  }
  c->h[0] += a;
  c->h[1] += b;
  c->h[2] += cc;
  c->h[3] += d;
  c->h[4] += e;
  c->h[5] += f;
  c->h[6] += g;
  c->h[7] += h;
}

static void sha256_update(sha256_ctx *c, const unsigned char *p, size_t n) {
  c->bytes += n;
  while (n > 0) {
    size_t take = 64 - c->used;
    if (take > n) take = n;
    memcpy(c->block + c->used, p, take);
    c->used += take;
    p += take;
    n -= take;
    if (c->used == 64) {
      sha256_block(c, c->block);
      c->used = 0;
    }
  }
}

static void sha256_hex(sha256_ctx *c, char out[65]) {
  static const char hex[] = "0123456789abcdef";
  uint64_t bits = c->bytes * 8;
  unsigned char pad[72] = {0x80};
  size_t padlen = (c->used < 56 ? 56 : 120) - c->used;
  for (int i = 0; i < 8; i++) pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
  uint64_t keep = c->bytes;
  sha256_update(c, pad, padlen + 8);
  c->bytes = keep;
  for (int i = 0; i < 32; i++) {
    unsigned char byte = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
    out[2 * i] = hex[byte >> 4];
    out[2 * i + 1] = hex[byte & 15];
  }
  out[64] = '\0';
}

// ---- the tool -------------------------------------------------------------------------------

static int fail(const char *message, int err) {
  json_out o = {0};
  jo_lit(&o, "{");
  jo_key(&o, 1, "error");
  jo_str(&o, message, strlen(message));
  jo_key(&o, 0, "errno");
  jo_u64(&o, (uint64_t)err);
  jo_lit(&o, "}");
  jo_emit(&o);
  return 1;
}

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

int main(void) {
  size_t in_len;
  char *in = read_stdin(&in_len);
  if (!in) return fail("cannot read stdin", errno);

  json_span member;
  const char *err = NULL;
  int found = json_member(in, in_len, "path", &member, &err);
  if (found < 0) return fail(err, EINVAL);
  if (found == 0 || member.p[0] != '"') return fail("\"path\" must be a string", EINVAL);
  size_t path_len;
  char *path = json_decode_string(member, &path_len, &err);
  if (!path) return fail(err, EINVAL);
  if (path_len == 0) return fail("\"path\" is empty", EINVAL);
  if (memchr(path, '\0', path_len)) return fail("\"path\" contains a NUL byte", EINVAL);

  static const char root[] = "/data/";
  char *full = malloc(sizeof root + path_len);
  if (!full) return fail("out of memory", ENOMEM);
  memcpy(full, root, sizeof root - 1);
  memcpy(full + sizeof root - 1, path, path_len + 1);

  FILE *f = fopen(full, "rb");
  if (!f) return fail(strerror(errno), errno);

  static unsigned char buf[65536];
  uint64_t lines = 0, words = 0, bytes = 0;
  int in_word = 0;
  unsigned char last = '\n';
  sha256_ctx sha;
  sha256_init(&sha);
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t i = 0; i < n; i++) {
      unsigned char c = buf[i];
      if (c == '\n') lines++;
      if (is_space(c)) {
        in_word = 0;
      } else if (!in_word) {
        in_word = 1;
        words++;
      }
    }
    last = buf[n - 1];
    bytes += n;
    sha256_update(&sha, buf, n);
  }
  if (ferror(f)) return fail(strerror(errno), errno);
  fclose(f);
  if (bytes > 0 && last != '\n') lines++;

  char digest[65];
  sha256_hex(&sha, digest);
  const char *label = getenv("STATS_LABEL");

  json_out o = {0};
  jo_lit(&o, "{");
  jo_key(&o, 1, "path");
  jo_str(&o, path, path_len);
  jo_key(&o, 0, "lines");
  jo_u64(&o, lines);
  jo_key(&o, 0, "words");
  jo_u64(&o, words);
  jo_key(&o, 0, "bytes");
  jo_u64(&o, bytes);
  jo_key(&o, 0, "sha256");
  jo_str(&o, digest, 64);
  jo_key(&o, 0, "label");
  if (label) jo_str(&o, label, strlen(label));
  else jo_lit(&o, "null");
  jo_lit(&o, "}");
  if (jo_emit(&o) != 0) return 1;
  return 0;
}
