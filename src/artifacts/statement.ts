// The in-toto Statement v1 that cordon's detached signatures carry inside a DSSE envelope: one
// subject (a name and the sha256 of the exact bytes) and a cordon predicate saying what kind of
// artifact it is (policy, module, file...) and, optionally, its version for rollback checks.
import { sha256Hex } from "../crypto/digest.js";
import { z } from "zod";
import { SignatureInvalid } from "../crypto/errors.js";

export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const ARTIFACT_PREDICATE_TYPE = "urn:cordon:predicate:signed-artifact:v1";

const KIND = /^[a-z][a-z0-9-]{0,31}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export interface ArtifactPredicate {
  /** What the bytes are: "policy", "module", "file", ... */
  readonly kind: string;
  /** A monotonically increasing version, for artifacts whose rollback is refused. */
  readonly version?: number;
}

export interface ArtifactStatement {
  readonly subject: { readonly name: string; readonly sha256: string };
  readonly predicate: { readonly kind: string; readonly version: number | null };
}

const predicateSchema = z.object({ kind: z.string().regex(KIND), version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional() }).strict();

const statementSchema = z
  .object({
    _type: z.literal(STATEMENT_TYPE),
    subject: z
      .array(z.object({ name: z.string().min(1).max(1024), digest: z.object({ sha256: z.string().regex(SHA256) }).strict() }).strict())
      .length(1),
    predicateType: z.literal(ARTIFACT_PREDICATE_TYPE),
    predicate: predicateSchema,
  })
  .strict();

/** True when `kind` is a valid artifact kind name. */
export function isArtifactKind(kind: string): boolean {
  return KIND.test(kind);
}

/** The statement's JSON bytes for `bytes` named `name`. */
export function buildArtifactStatement(bytes: Uint8Array, name: string, predicate: ArtifactPredicate): Buffer {
  return buildDigestStatement(sha256Hex(bytes), name, predicate);
}

/** The same, for bytes too large to hold, by their digest (a container image, hashed as streamed). */
export function buildDigestStatement(sha256: string, name: string, predicate: ArtifactPredicate): Buffer {
  if (!SHA256.test(sha256)) throw new SignatureInvalid(name, "not a sha256 digest");
  const checked = predicateSchema.parse(predicate);
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name, digest: { sha256 } }],
    predicateType: ARTIFACT_PREDICATE_TYPE,
    predicate: checked,
  };
  return Buffer.from(JSON.stringify(statement), "utf8");
}

/** Parses the verified payload of an envelope; anything but a cordon artifact statement is refused. */
export function parseArtifactStatement(payload: Uint8Array, artifact: string): ArtifactStatement {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString("utf8"));
  } catch {
    throw new SignatureInvalid(artifact, "signed payload is not JSON");
  }
  const parsed = statementSchema.safeParse(value);
  if (!parsed.success) throw new SignatureInvalid(artifact, "signed payload is not a cordon artifact statement (in-toto Statement v1)");
  const [subject] = parsed.data.subject as [{ name: string; digest: { sha256: string } }];
  return {
    subject: { name: subject.name, sha256: subject.digest.sha256 },
    predicate: { kind: parsed.data.predicate.kind, version: parsed.data.predicate.version ?? null },
  };
}
