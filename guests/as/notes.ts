// notes: a notebook that lives as long as the agent's session.
//
// cordon reactor tool (see guests/README.md for the ABI). One instance serves a whole session,
// so the notes below persist between calls and vanish with the session.
//   {"op":"add","text":"..."} -> {"id":n,"count":k}     (ids are never reused within a session)
//   {"op":"list"}             -> {"notes":[{"id":1,"text":"...","at":<ns since epoch>,"tag":"9f86d081"}]}
//   {"op":"clear"}            -> {"cleared":k}
// A request the tool cannot serve gets {"error":"..."} (with "errno" when a host call failed).
// `at` comes from clock_time_get(realtime) and `tag` from random_get, so the tool needs the
// clock and random grants. Imports: clock_time_get, random_get, env.abort.

import { realtimeNs, randomFill, lastErrno } from "./lib/wasi";
import { JsonKind, JsonValue, JsonWriter, parseJson, parseError } from "./lib/json";

const MAX_NOTES: i32 = 1000;
const MAX_TEXT_BYTES: i32 = 4096;
const MAX_ALLOC: i32 = 16 << 20;

// Negative results of handle_message / get_response (guests/README.md lists them).
const ERR_BAD_ARGUMENTS: i32 = -1;

class Note {
  constructor(
    public id: i64,
    public text: string,
    public at: u64,
    public tag: string,
  ) {}
}

const notes = new Array<Note>();
let nextId: i64 = 1;
let response = new Uint8Array(0);
// Buffers handed to the host by cordon_alloc. Holding them here keeps the collector off them
// until the host has passed them back; the rest are reclaimed when handle_message returns.
const loans = new Map<usize, ArrayBuffer>();
const tagBytes: usize = memory.data(4);

function inMemory(ptr: usize, len: i32): bool {
  const limit = <u64>memory.size() << 16;
  return <u64>ptr + <u64>len <= limit;
}

function errorReply(message: string, errno: i32 = 0): JsonWriter {
  const w = new JsonWriter().beginObject().key("error").string(message);
  if (errno != 0) w.key("errno").int(errno);
  return w.endObject();
}

function randomTag(): string | null {
  if (randomFill(tagBytes, 4) != 0) return null;
  const digits = "0123456789abcdef";
  let tag = "";
  for (let i: usize = 0; i < 4; i++) {
    const b = <i32>load<u8>(tagBytes + i);
    tag += digits.charAt(b >> 4) + digits.charAt(b & 0xf);
  }
  return tag;
}

function add(request: JsonValue): JsonWriter {
  const text = request.getString("text");
  if (text === null) return errorReply("\"text\" must be a string");
  if (String.UTF8.byteLength(text) > MAX_TEXT_BYTES) {
    return errorReply("\"text\" is longer than " + MAX_TEXT_BYTES.toString() + " bytes");
  }
  if (notes.length >= MAX_NOTES) {
    return errorReply("the notebook is full (" + MAX_NOTES.toString() + " notes); clear it first");
  }
  const at = realtimeNs();
  if (at == 0) return errorReply("clock_time_get failed", lastErrno);
  const tag = randomTag();
  if (tag === null) return errorReply("random_get failed", lastErrno);
  const id = nextId++;
  notes.push(new Note(id, text, at, tag));
  return new JsonWriter().beginObject().key("id").int(id).key("count").int(notes.length).endObject();
}

function list(): JsonWriter {
  const w = new JsonWriter().beginObject().key("notes").beginArray();
  for (let i = 0; i < notes.length; i++) {
    const note = notes[i];
    w.beginObject()
      .key("id").int(note.id)
      .key("text").string(note.text)
      .key("at").uint(note.at)
      .key("tag").string(note.tag)
      .endObject();
  }
  return w.endArray().endObject();
}

function clear(): JsonWriter {
  const cleared = notes.length;
  notes.length = 0;
  return new JsonWriter().beginObject().key("cleared").int(cleared).endObject();
}

function serve(ptr: usize, len: i32): JsonWriter {
  const request = parseJson(ptr, <usize>len);
  if (request === null) return errorReply("malformed JSON: " + parseError);
  if (request.kind != JsonKind.Object) return errorReply("the request must be a JSON object");
  const op = request.getString("op");
  if (op === null) return errorReply("\"op\" must be a string");
  if (op == "add") return add(request);
  if (op == "list") return list();
  if (op == "clear") return clear();
  return errorReply("unknown op (expected add, list or clear)");
}

/** Returns a guest pointer to `len` writable bytes, or 0. */
export function cordon_alloc(len: i32): usize {
  if (len < 0 || len > MAX_ALLOC) return 0;
  const buf = new ArrayBuffer(len);
  const ptr = changetype<usize>(buf);
  loans.set(ptr, buf);
  return ptr;
}

/** Serves the request at ptr/len; returns the response length, or a negative error code. */
export function handle_message(ptr: usize, len: i32): i32 {
  response = new Uint8Array(0);
  if (len < 0 || !inMemory(ptr, len)) {
    loans.clear();
    return ERR_BAD_ARGUMENTS;
  }
  const w = serve(ptr, len);
  loans.clear();
  response = w.bytes();
  return response.length;
}

/** Copies up to `len` bytes of the last response to `ptr`; returns how many it copied. */
export function get_response(ptr: usize, len: i32): i32 {
  if (len < 0) return ERR_BAD_ARGUMENTS;
  const n = min(len, response.length);
  if (!inMemory(ptr, n)) return ERR_BAD_ARGUMENTS;
  memory.copy(ptr, response.dataStart, <usize>n);
  loans.delete(ptr);
  return n;
}
