// tool.h: what cordon's C example tools share: stdin/stdout plumbing, a strict JSON reader
// that finds one member of the request object, and a JSON writer. Header-only, wasi-libc.
//
// The reader validates the whole document (RFC 8259 grammar, UTF-8, no raw control characters
// in strings, nesting at most JSON_MAX_DEPTH) before the tool trusts any part of it.

#ifndef CORDON_TOOL_H
#define CORDON_TOOL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSON_MAX_DEPTH 64
#define TOOL_MAX_INPUT (4u << 20)

// ---- stdin / stdout -------------------------------------------------------------------------

// Reads fd 0 to EOF into a NUL-terminated heap buffer. NULL (errno set) on failure.
static inline char *read_stdin(size_t *out_len) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  if (!buf) return NULL;
  for (;;) {
    if (len == cap) {
      if (cap >= TOOL_MAX_INPUT) {
        free(buf);
        errno = EFBIG;
        return NULL;
      }
      cap *= 2;
      char *bigger = realloc(buf, cap + 1);
      if (!bigger) {
        free(buf);
        return NULL;
      }
      buf = bigger;
    }
    ssize_t n = read(0, buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      free(buf);
      return NULL;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  *out_len = len;
  return buf;
}

static inline int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

// Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates), or 0.
static inline size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t n;
  unsigned lo = 0x80, hi = 0xbf;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else
    return 0;
  if ((size_t)(end - p) < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  return n;
}

// ---- JSON writer ----------------------------------------------------------------------------

typedef struct {
  char *buf;
  size_t len, cap;
  int failed; // out of memory: the document is incomplete
} json_out;

static inline void jo_raw(json_out *o, const char *s, size_t n) {
  if (o->failed) return;
  if (o->len + n > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n) cap *= 2;
    char *bigger = realloc(o->buf, cap);
    if (!bigger) {
      o->failed = 1;
      return;
    }
    o->buf = bigger;
    o->cap = cap;
  }
  memcpy(o->buf + o->len, s, n);
  o->len += n;
}

static inline void jo_lit(json_out *o, const char *s) { jo_raw(o, s, strlen(s)); }

static inline void jo_u64(json_out *o, uint64_t v) {
  char digits[20];
  size_t i = sizeof digits;
  do {
    digits[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  jo_raw(o, digits + i, sizeof digits - i);
}

// Writes `s` as a quoted JSON string. Bytes that are not valid UTF-8 become U+FFFD, so the
// output stays valid UTF-8 whatever the bytes came from (an environment variable, say).
static inline void jo_str(json_out *o, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u8 = (const unsigned char *)s;
  jo_raw(o, "\"", 1);
  size_t run = 0; // bytes that need no escaping, copied in one go
  for (size_t i = 0; i < n; i++) {
    unsigned char c = u8[i];
    const char *esc = NULL;
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    if (c >= 0x80) {
      size_t len = utf8_seq(u8 + i, u8 + n);
      if (len) {
        i += len - 1;
        continue;
      }
      esc = "\\ufffd";
    } else if (c == '"') esc = "\\\"";
    else if (c == '\\') esc = "\\\\";
    else if (c == '\n') esc = "\\n";
    else if (c == '\r') esc = "\\r";
    else if (c == '\t') esc = "\\t";
    else if (c >= 0x20) continue;
    jo_raw(o, s + run, i - run);
    if (esc) jo_lit(o, esc);
    else jo_raw(o, u, sizeof u);
    run = i + 1;
  }
  jo_raw(o, s + run, n - run);
  jo_raw(o, "\"", 1);
}

static inline void jo_key(json_out *o, int first, const char *key) {
  if (!first) jo_raw(o, ",", 1);
  jo_str(o, key, strlen(key));
  jo_raw(o, ":", 1);
}

// Writes the document to stdout. 0 on success.
static inline int jo_emit(json_out *o) {
  if (o->failed) return -1;
  return write_all(1, o->buf, o->len);
}

// ---- JSON reader ----------------------------------------------------------------------------

typedef struct {
  const char *p, *end;
  const char *error;
  int depth;
} json_reader;

typedef struct {
  const char *p; // first byte of the value's text (the quote, for strings)
  size_t len;
} json_span;

static inline int jr_fail(json_reader *r, const char *msg) {
  if (!r->error) r->error = msg;
  return 0;
}

static inline void jr_ws(json_reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}

static inline int jr_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static inline int jr_string(json_reader *r) {
  r->p++; // opening quote
  while (r->p < r->end) {
    unsigned char c = (unsigned char)*r->p;
    if (c == '"') {
      r->p++;
      return 1;
    }
    if (c == '\\') {
      if (r->end - r->p < 2) break;
      char e = r->p[1];
      if (e == 'u') {
        if (r->end - r->p < 6) break;
        for (int i = 2; i < 6; i++)
          if (jr_hex(r->p[i]) < 0) return jr_fail(r, "invalid \\u escape");
        r->p += 6;
      } else if (e && strchr("\"\\/bfnrt", e)) {
        r->p += 2;
      } else {
        return jr_fail(r, "invalid escape");
      }
      continue;
    }
    if (c < 0x20) return jr_fail(r, "control character in string");
    size_t n = utf8_seq((const unsigned char *)r->p, (const unsigned char *)r->end);
    if (!n) return jr_fail(r, "invalid UTF-8");
    r->p += n;
  }
  return jr_fail(r, "unterminated string");
}

static inline int jr_digits(json_reader *r) {
  if (r->p >= r->end || *r->p < '0' || *r->p > '9') return jr_fail(r, "expected a digit");
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
  return 1;
}

static inline int jr_number(json_reader *r) {
  if (*r->p == '-') r->p++;
  if (r->p < r->end && *r->p == '0') r->p++;
  else if (!jr_digits(r)) return 0;
  if (r->p < r->end && *r->p == '.') {
    r->p++;
    if (!jr_digits(r)) return 0;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    r->p++;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
    if (!jr_digits(r)) return 0;
  }
  return 1;
}

static inline int jr_literal(json_reader *r, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return jr_fail(r, "unexpected character");
  r->p += n;
  return 1;
}

static inline int jr_value(json_reader *r);

// Parses a container after its opening byte; `close` is '}' or ']'.
static inline int jr_container(json_reader *r, char close) {
  if (++r->depth > JSON_MAX_DEPTH) return jr_fail(r, "nesting too deep");
  r->p++;
  jr_ws(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    r->depth--;
    return 1;
  }
  for (;;) {
    jr_ws(r);
    if (close == '}') {
      if (r->p >= r->end || *r->p != '"') return jr_fail(r, "expected a string key");
      if (!jr_string(r)) return 0;
      jr_ws(r);
      if (r->p >= r->end || *r->p != ':') return jr_fail(r, "expected ':'");
      r->p++;
      jr_ws(r);
    }
    if (!jr_value(r)) return 0;
    jr_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == close) {
      r->p++;
      r->depth--;
      return 1;
    }
    return jr_fail(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static inline int jr_value(json_reader *r) {
  if (r->p >= r->end) return jr_fail(r, "unexpected end of input");
  char c = *r->p;
  if (c == '{') return jr_container(r, '}');
  if (c == '[') return jr_container(r, ']');
  if (c == '"') return jr_string(r);
  if (c == '-' || (c >= '0' && c <= '9')) return jr_number(r);
  if (c == 't') return jr_literal(r, "true");
  if (c == 'f') return jr_literal(r, "false");
  if (c == 'n') return jr_literal(r, "null");
  return jr_fail(r, "unexpected character");
}

static inline void utf8_put(char **w, uint32_t cp) {
  char *p = *w;
  if (cp < 0x80) *p++ = (char)cp;
  else if (cp < 0x800) {
    *p++ = (char)(0xc0 | (cp >> 6));
    *p++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *p++ = (char)(0xe0 | (cp >> 12));
    *p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    *p++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *p++ = (char)(0xf0 | (cp >> 18));
    *p++ = (char)(0x80 | ((cp >> 12) & 0x3f));
    *p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    *p++ = (char)(0x80 | (cp & 0x3f));
  }
  *w = p;
}

static inline uint32_t jr_hex4(const char *p) {
  return (uint32_t)(jr_hex(p[0]) << 12 | jr_hex(p[1]) << 8 | jr_hex(p[2]) << 4 | jr_hex(p[3]));
}

// Decodes a string token the reader has validated into a NUL-terminated heap buffer (which may
// contain NUL bytes; *out_len is the true length). NULL with *err set on failure: escaped lone
// surrogates have no UTF-8 form and are refused.
static inline char *json_decode_string(json_span s, size_t *out_len, const char **err) {
  char *out = malloc(s.len + 1); // decoding never lengthens a string
  if (!out) {
    *err = "out of memory";
    return NULL;
  }
  char *w = out;
  const char *p = s.p + 1, *end = s.p + s.len - 1;
  while (p < end) {
    if (*p != '\\') {
      *w++ = *p++;
      continue;
    }
    char e = p[1];
    p += 2;
    switch (e) {
    case 'b': *w++ = '\b'; break;
    case 'f': *w++ = '\f'; break;
    case 'n': *w++ = '\n'; break;
    case 'r': *w++ = '\r'; break;
    case 't': *w++ = '\t'; break;
    case 'u': {
      uint32_t cp = jr_hex4(p);
      p += 4;
      if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
        uint32_t lo = jr_hex4(p + 2);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          p += 6;
        }
      }
      if (cp >= 0xd800 && cp <= 0xdfff) {
        free(out);
        *err = "lone surrogate in \\u escape";
        return NULL;
      }
      utf8_put(&w, cp);
      break;
    }
    default: *w++ = e; break; // " \ /
    }
  }
  *w = '\0';
  *out_len = (size_t)(w - out);
  return out;
}

// Validates `in` as one JSON object and looks up its member `key` (compared after decoding).
// Returns 1 and sets *value when found, 0 when absent, -1 with *err set when the input is
// malformed or names `key` twice.
static inline int json_member(const char *in, size_t len, const char *key, json_span *value, const char **err) {
  json_reader r = {in, in + len, NULL, 0};
  int found = 0;
  jr_ws(&r);
  if (r.p >= r.end || *r.p != '{') {
    *err = "input must be a JSON object";
    return -1;
  }
  r.p++;
  jr_ws(&r);
  if (r.p < r.end && *r.p == '}') r.p++;
  else
    for (;;) {
      jr_ws(&r);
      if (r.p >= r.end || *r.p != '"') {
        jr_fail(&r, "expected a string key");
        break;
      }
      json_span k = {r.p, 0};
      if (!jr_string(&r)) break;
      k.len = (size_t)(r.p - k.p);
      jr_ws(&r);
      if (r.p >= r.end || *r.p != ':') {
        jr_fail(&r, "expected ':'");
        break;
      }
      r.p++;
      jr_ws(&r);
      json_span v = {r.p, 0};
      if (!jr_value(&r)) break;
      v.len = (size_t)(r.p - v.p);
      size_t klen;
      const char *kerr = NULL;
      char *kname = json_decode_string(k, &klen, &kerr);
      if (kname && klen == strlen(key) && memcmp(kname, key, klen) == 0) {
        if (found) jr_fail(&r, "duplicate key");
        found = 1;
        *value = v;
      }
      free(kname);
      if (r.error) break;
      jr_ws(&r);
      if (r.p < r.end && *r.p == ',') {
        r.p++;
        continue;
      }
      if (r.p < r.end && *r.p == '}') {
        r.p++;
        break;
      }
      jr_fail(&r, "expected ',' or '}'");
      break;
    }
  if (!r.error) {
    jr_ws(&r);
    if (r.p != r.end) jr_fail(&r, "unexpected data after the JSON value");
  }
  if (r.error) {
    *err = r.error;
    return -1;
  }
  return found;
}

#endif
