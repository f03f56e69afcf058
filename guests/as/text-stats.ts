// text-stats: counts lines, words, code points and UTF-8 bytes of a text.
//
// cordon wasi-command tool. stdin:  {"text": "..."}
//                              stdout: {"lines":n,"words":n,"chars":n,"bytes":n,"longestWord":"..."}
// lines: 0 for "", else the number of '\n' plus one if the text does not end with '\n'.
// words: maximal runs of non-whitespace code points (Unicode White_Space).
// chars: Unicode code points (a lone surrogate counts as one). bytes: UTF-8 length.
// longestWord: the first of the longest words, by code points.
// Malformed input: {"error":"..."} on stdout and exit status 2. Imports fd_read, fd_write,
// proc_exit and cordon.log (one log line per call, so the tool needs the log grant).

import { readAll, writeAll, exit, log, lastErrno, STDIN, STDOUT } from "./lib/wasi";
import { JsonKind, JsonWriter, parseJson, parseError } from "./lib/json";

function isSpace(cp: u32): bool {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0d);
  if (cp < 0x85) return false;
  return (
    cp == 0x85 ||
    cp == 0xa0 ||
    cp == 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp == 0x2028 ||
    cp == 0x2029 ||
    cp == 0x202f ||
    cp == 0x205f ||
    cp == 0x3000
  );
}

function emit(w: JsonWriter): void {
  if (writeAll(STDOUT, w.ptr, w.length) != 0) exit(1);
}

function fail(message: string, status: i32): void {
  emit(new JsonWriter().beginObject().key("error").string(message).endObject());
  exit(status);
}

function main(): void {
  const input = readAll(STDIN);
  if (input === null) {
    fail("cannot read stdin (errno " + lastErrno.toString() + ")", 1);
    return;
  }
  const request = parseJson(input.dataStart, <usize>input.length);
  if (request === null) {
    fail("malformed JSON: " + parseError, 2);
    return;
  }
  if (request.kind != JsonKind.Object) {
    fail("input must be a JSON object", 2);
    return;
  }
  const text = request.getString("text");
  if (text === null) {
    fail("\"text\" must be a string", 2);
    return;
  }

  let lines: i64 = 0;
  let words: i64 = 0;
  let chars: i64 = 0;
  let bytes: i64 = 0;
  let inWord = false;
  let wordStart: i32 = 0; // code unit index
  let wordChars: i32 = 0;
  let bestStart: i32 = 0;
  let bestEnd: i32 = 0;
  let bestChars: i32 = 0;
  let last: u32 = 0;
  const n = text.length;
  let i: i32 = 0;
  while (i < n) {
    const at = i;
    let cp = <u32>text.charCodeAt(i++);
    if (cp >= 0xd800 && cp <= 0xdbff && i < n) {
      const lo = <u32>text.charCodeAt(i);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + (((cp - 0xd800) << 10) | (lo - 0xdc00));
        i++;
      }
    }
    chars++;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (cp == 0x0a) lines++;
    if (isSpace(cp)) {
      inWord = false;
    } else {
      if (!inWord) {
        inWord = true;
        words++;
        wordStart = at;
        wordChars = 0;
      }
      wordChars++;
      if (wordChars > bestChars) {
        bestChars = wordChars;
        bestStart = wordStart;
        bestEnd = i;
      }
    }
    last = cp;
  }
  if (chars > 0 && last != 0x0a) lines++;

  log("text-stats: " + words.toString() + " words");
  emit(
    new JsonWriter()
      .beginObject()
      .key("lines").int(lines)
      .key("words").int(words)
      .key("chars").int(chars)
      .key("bytes").int(bytes)
      .key("longestWord").string(text.substring(bestStart, bestEnd))
      .endObject(),
  );
}

main();
