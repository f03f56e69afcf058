// What MCP adds to a session, through real cells: human approval, results of each content type
// and an output schema, a guest's progress and sampling, cancellation, resources through the
// cell's jail, and prompts. The client is a CallPeer here; the MCP wiring is tested in gateway/.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import type { Json } from "../errors.js";
import { loadPolicy } from "../policy/load-policy.js";
import { makeMcpPolicy, type McpPolicy } from "../testing/mcp-policy.js";
import type { CallPeer, ElicitAnswer, ProgressReport } from "./call-peer.js";
import { Runtime } from "./runtime.js";
import type { Session, ToolResult } from "./session.js";

function codeOf(r: ToolResult): string {
  return r.ok ? "ok" : r.error.code;
}

describe("a session's MCP features, in real cells", () => {
  let fixture: McpPolicy;
  let runtime: Runtime;
  let audit: AuditLog;
  let session: Session;
  before(async () => {
    fixture = await makeMcpPolicy();
    audit = AuditLog.memory();
    runtime = await Runtime.start({ policy: loadPolicy(fixture.path), audit, isolation: "cell" });
    session = await runtime.openSession("user");
  });
  after(async () => runtime.close());

  const since = (seq: number) => audit.recordsAfter(seq);
  const head = () => audit.head?.seq ?? 0;

  describe("human approval", () => {
    it("without a client that can ask, the call is refused before it runs (unsupported), one record", async () => {
      const before = head();
      const r = await session.call("approved", {});
      assert.equal(codeOf(r), "ERR_APPROVAL_UNSUPPORTED");
      const records = since(before);
      assert.deepEqual(records.map((x) => [x.type, x.enforcer]), [["call.denied", "human-approval"]]);
    });

    it("a decline refuses it; no answer in time refuses it; both recorded under human-approval", async () => {
      for (const [peer, code] of [
        [{ elicit: () => Promise.resolve<ElicitAnswer>({ action: "decline" }) }, "ERR_APPROVAL_DECLINED"],
        [{ elicit: () => Promise.resolve<ElicitAnswer>({ action: "cancel" }) }, "ERR_APPROVAL_DECLINED"],
        [{ elicit: () => Promise.resolve<ElicitAnswer>({ action: "accept", content: { approve: false } }) }, "ERR_APPROVAL_DECLINED"],
        [{ elicit: () => new Promise<ElicitAnswer>(() => undefined), approvalTimeoutMs: 100 }, "ERR_APPROVAL_UNANSWERED"],
        [{ elicit: () => Promise.reject(new Error("client error")) }, "ERR_APPROVAL_UNSUPPORTED"],
        [{ elicit: () => Promise.resolve<ElicitAnswer>({ action: "accept", content: { approve: "yes" } }) }, "ERR_APPROVAL_INVALID"],
      ] as const) {
        const before = head();
        const r = await session.call("approved", {}, { peer });
        assert.equal(codeOf(r), code);
        assert.deepEqual(since(before).map((x) => [x.type, x.enforcer, x.code]), [["call.denied", "human-approval", code]]);
      }
    });

    it("an accepted approval lets exactly that call run: approved, allowed, completed", async () => {
      let asked: { message: string; requestedSchema: object } | null = null;
      const peer: CallPeer = {
        elicit: (req) => {
          asked = req;
          return Promise.resolve({ action: "accept", content: { approve: true } });
        },
      };
      const before = head();
      const r = await session.call("approved", { say: "hi" }, { peer });
      assert.ok(r.ok, codeOf(r));
      assert.deepEqual(since(before).map((x) => x.type), ["call.approved", "call.allowed", "call.completed"]);
      assert.equal(since(before)[0]?.["inputSha256"], since(before)[1]?.["inputSha256"]);
      assert.match((asked as unknown as { message: string }).message, /approved[\s\S]*"say":"hi"/);
      assert.deepEqual(Object.keys((asked as unknown as { requestedSchema: { properties: object } }).requestedSchema.properties), ["approve"]);
    });

    it("a policy-declared form: its message takes the call's arguments, its checked answers reach the tool as $approval", async () => {
      let message = "";
      const answer = (content: { [key: string]: Json }): CallPeer => ({
        elicit: (req) => {
          message = req.message;
          return Promise.resolve({ action: "accept", content });
        },
      });
      const r = await session.call("formed", { to: "Ada" }, { peer: answer({ reason: "status", urgency: "high" }) });
      assert.ok(r.ok, codeOf(r));
      assert.equal(message, "Send Ada a note?");
      assert.deepEqual(r.output, { to: "Ada", $approval: { reason: "status", urgency: "high" } });
      assert.equal(codeOf(await session.call("formed", { to: "Ada" }, { peer: answer({ reason: "x", urgency: "medium" }) })), "ERR_APPROVAL_INVALID");
      assert.equal(codeOf(await session.call("formed", { to: "Ada" }, { peer: answer({ urgency: "low" }) })), "ERR_APPROVAL_INVALID");
      // A caller cannot answer for the user.
      const before = head();
      assert.equal(codeOf(await session.call("formed", { to: "Ada", $approval: { reason: "forged" } }, { peer: answer({ reason: "x" }) })), "ERR_INPUT_INVALID");
      assert.deepEqual(since(before).map((x) => [x.type, x.enforcer]), [["call.denied", "input-schema"]]);
    });
  });

  describe("results", () => {
    it("declared content types pass as blocks; an undeclared one is refused under output-check", async () => {
      const r = await session.call("image", {});
      assert.ok(r.ok, codeOf(r));
      assert.deepEqual(r.result.blocks?.map((b) => b.type), ["text", "image"]);
      const before = head();
      const audio = await session.call("audio", {});
      assert.equal(codeOf(audio), "ERR_OUTPUT_REFUSED");
      assert.deepEqual(since(before).map((x) => [x.type, x.enforcer]), [["call.allowed", undefined], ["call.failed", "output-check"]]);
    });

    it("structured content must match the declared output schema", async () => {
      const r = await session.call("typed", {});
      assert.ok(r.ok, codeOf(r));
      assert.deepEqual(r.result.structured, { count: 3, label: "three" });
      assert.equal(r.result.blocks, null);
      const before = head();
      assert.equal(codeOf(await session.call("mistyped", {})), "ERR_OUTPUT_REFUSED");
      assert.equal(since(before).at(-1)?.enforcer, "output-check");
    });
  });

  describe("a guest's progress and sampling", () => {
    it("reports its progress and asks the client's model once: every request and its size recorded", async () => {
      const reports: ProgressReport[] = [];
      const asked: Json[] = [];
      const peer: CallPeer = {
        progress: (p) => reports.push(p),
        sample: (req) => {
          asked.push(JSON.parse(JSON.stringify(req)) as Json);
          return Promise.resolve({ model: "test-model", stopReason: "endTurn", content: { type: "text", text: "forty-two" } });
        },
      };
      const before = head();
      const r = await session.call("ask", { prompt: "meaning of life?", maxTokens: 16 }, { peer });
      assert.ok(r.ok, codeOf(r));
      assert.deepEqual(r.output, { answer: { text: "forty-two", content: { type: "text", text: "forty-two" }, model: "test-model", stopReason: "endTurn" } });
      assert.deepEqual(reports, [{ progress: 0, total: 2 }, { progress: 1, total: 2 }, { progress: 2, total: 2 }]);
      assert.deepEqual(asked, [{ messages: [{ role: "user", text: "meaning of life?" }], maxTokens: 16 }]);
      const records = since(before);
      const requested = records.find((x) => x.type === "sampling.requested");
      const answered = records.find((x) => x.type === "sampling.answered");
      assert.equal(requested?.["requestBytes"], Buffer.byteLength(JSON.stringify({ prompt: "meaning of life?", maxTokens: 16 })));
      assert.ok(typeof answered?.["answerBytes"] === "number" && answered["answerBytes"] > 0);
      assert.equal(records.find((x) => x.type === "call.completed")?.["samplingRequests"], 1);
      assert.equal(records.find((x) => x.type === "call.completed")?.["progressReports"], 3);
      assert.ok(!JSON.stringify(records).includes("meaning of life") && !JSON.stringify(records).includes("forty-two"), "no prompt or answer text in the log");
    });

    it("without a client that can sample, or over the grant's tokens, the guest is refused (-2) and the refusal recorded", async () => {
      for (const [input, peer, problem] of [
        [{ prompt: "hi" }, {}, "unsupported"],
        [{ prompt: "hi", maxTokens: 65 }, { sample: () => Promise.reject(new Error("never asked")) }, "too-many-tokens"],
      ] as const) {
        const before = head();
        const r = await session.call("ask", input, { peer });
        assert.equal(codeOf(r), "ERR_GUEST_EXIT");
        const denied = since(before).filter((x) => x.type === "sampling.denied");
        assert.deepEqual(denied.map((x) => [x.enforcer, x["problem"]]), [["cordon-sampling", problem]]);
      }
    });
  });

  describe("cancellation", () => {
    it("stops a running Wasm call at its next fuel slice; the cell and the session live on; ticks report elapsed time", async () => {
      const controller = new AbortController();
      const reports: ProgressReport[] = [];
      setTimeout(() => controller.abort(), 400);
      const before = head();
      const r = await session.call("spin", {}, { peer: { signal: controller.signal, progress: (p) => reports.push(p), progressTickMs: 50 } });
      assert.equal(codeOf(r), "ERR_CALL_CANCELLED");
      const cancelled = since(before).find((x) => x.type === "call.cancelled");
      assert.equal(cancelled?.["stage"], "running");
      assert.ok(reports.length >= 2, `ticks: ${reports.length}`);
      assert.ok(reports.every((p, i) => p.total === 20000 && (i === 0 || p.progress > (reports[i - 1]?.progress ?? 0))));
      assert.ok((await session.call("typed", {})).ok, "the same cell serves the next call");
      assert.ok(!session.ended);
    });

    it("a call cancelled before it is allowed never runs", async () => {
      const controller = new AbortController();
      controller.abort();
      const before = head();
      assert.equal(codeOf(await session.call("typed", {}, { peer: { signal: controller.signal } })), "ERR_CALL_CANCELLED");
      assert.deepEqual(since(before).map((x) => [x.type, x["stage"]]), [["call.cancelled", "before-run"]]);
    });
  });

  describe("resources, through the cell's jail", () => {
    it("lists only the regular files inside the grant: the planted link out is not there", async () => {
      const listed = await session.resources.list();
      assert.deepEqual(listed.map((r) => r.uri).sort(), ["file:///data/notes.txt", "file:///data/pic.png", "file:///data/sub/deep.txt"]);
      assert.equal(listed.find((r) => r.name === "pic.png")?.mimeType, "image/png");
    });

    it("reads text and binary files, each read recorded with its size and digest", async () => {
      const before = head();
      const text = await session.resources.read("file:///data/notes.txt");
      assert.ok(text.ok);
      assert.equal(text.contents.text, "first note\n");
      const bin = await session.resources.read("file:///data/pic.png");
      assert.ok(bin.ok && bin.contents.blob !== undefined && bin.contents.mimeType === "image/png");
      assert.deepEqual(since(before).map((x) => [x.type, x["bytes"]]), [["resource.read", 11], ["resource.read", Buffer.from(bin.contents.blob, "base64").byteLength]]);
      const deep = await session.resources.read("file:///data/sub/deep.txt");
      assert.ok(deep.ok && deep.contents.mimeType === "text/plain");
    });

    it("refuses a planted link, '..', an absolute path and a URI outside every root: one resource-jail record each, nothing read", async () => {
      for (const uri of ["file:///data/link.txt", "file:///data/../secret/outside.txt", "file:///data/%2e%2e/secret/outside.txt", "file:///data//etc/passwd", "file:///etc/passwd", "file:///data/sub/../../secret/outside.txt"]) {
        const before = head();
        const r = await session.resources.read(uri);
        assert.ok(!r.ok, uri);
        assert.equal(r.error.code, "ERR_RESOURCE_DENIED", uri);
        assert.deepEqual(since(before).map((x) => [x.type, x.enforcer]), [["resource.denied", "resource-jail"]], uri);
        assert.ok(!JSON.stringify(r).includes("OUTSIDE-SECRET"));
      }
      const missing = await session.resources.read("file:///data/none.txt");
      assert.ok(!missing.ok && missing.error.code === "ERR_RESOURCE_NOT_FOUND");
    });

    it("completes a template's variable from the directory it names; stat sees a file's identity", async () => {
      assert.deepEqual(await session.resources.complete("file:///data/sub/{name}", "name", "d", {}), ["deep.txt"]);
      assert.deepEqual(await session.resources.complete("file:///data/sub/{name}", "name", "x", {}), []);
      const st = await session.resources.stat("file:///data/notes.txt", false);
      assert.ok(st.ok && st.stat.size === 11);
      assert.ok(!(await session.resources.stat("file:///data/link.txt", false)).ok);
    });
  });

  describe("prompts", () => {
    it("renders the role's prompt with its arguments, refuses missing or unknown ones, completes from the policy", async () => {
      const got = await session.prompts.get("greet", { who: "Ada", mood: "warm" });
      assert.ok(got.ok);
      assert.deepEqual(got.messages.map((m) => m.content["type"]), ["text", "image", "resource"]);
      assert.equal(got.messages[0]?.content["text"], "Say hello to Ada in a warm way.");
      assert.deepEqual(got.messages[2]?.content["resource"], { uri: "note://Ada", mimeType: "text/plain", text: "About Ada." });
      const missing = await session.prompts.get("greet", {});
      assert.ok(!missing.ok && missing.error.code === "ERR_PROMPT_ARGUMENTS");
      const unknown = await session.prompts.get("greet", { who: "x", extra: "y" });
      assert.ok(!unknown.ok && unknown.error.code === "ERR_PROMPT_ARGUMENTS");
      assert.ok(!(await session.prompts.get("nope", {})).ok);
      assert.deepEqual(session.prompts.complete("greet", "who", "al").values, ["alice", "alfred"]);
    });
  });
});
