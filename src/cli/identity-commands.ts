// The identity verbs of the command line: keys init, sign, verify, trust init|show, token mint.
// src/cli/main.ts hands over argv when it starts with one of IDENTITY_VERBS. Keys and trust
// roots come from files named here or from cordon's data directory, never from the
// environment: a key-like variable is ignored, and the audit log records its name.
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { KeyObject } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { AuditLog } from "../audit/index.js";
import { ArtifactUnreadable, UsageError } from "../errors.js";
import { dataDir as defaultDataDir, defaultAuditPath } from "../config/defaults.js";
import { envKeyOffers, envKeyOffersEvent } from "../artifacts/env-key-offers.js";
import { initTrust } from "./init-trust.js";
import { initKey, loadPublicKey, loadSigningKey } from "../crypto/keys.js";
import { loadTrustBundle, type LoadedTrustBundle } from "../artifacts/load-trust-bundle.js";
import { mintToken, publicJwk } from "../authn/mint-token.js";
import { signFile } from "../artifacts/sign-file.js";
import { isArtifactKind } from "../artifacts/statement.js";
import { MAX_TOKEN_AGE_SEC, type TrustBundle } from "../artifacts/trust-bundle.js";
import { verifyFile } from "../artifacts/verify-file.js";

export const IDENTITY_VERBS: ReadonlySet<string> = new Set(["keys", "sign", "verify", "trust", "token"]);

export const IDENTITY_USAGE = `  cordon keys init [--key PATH]                              create an Ed25519 key (PATH, mode 0600) and PATH.pub
  cordon sign FILE --key KEY [--kind K] [--artifact-version N] [--out SIG]   write FILE.sig.json (DSSE, in-toto)
  cordon verify FILE (--key PUB | --trust-root PUB) [--kind K] [--sig SIG]   check FILE against its signature
  cordon trust init --input FILE [--root-key KEY] [--out BUNDLE]     sign a trust bundle with the pinned root
  cordon trust show [--trust-root PUB] [--bundle BUNDLE] [--json]    verify and print the trust bundle
  cordon token mint --issuer-key KEY --role R --sub S [--ttl SEC] [--iss I --aud A] [--tenant T]`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

type Env = Readonly<Record<string, string | undefined>>;

const OPTIONS = {
  key: { type: "string" },
  kind: { type: "string" },
  "artifact-version": { type: "string" },
  out: { type: "string" },
  sig: { type: "string" },
  "trust-root": { type: "string" },
  bundle: { type: "string" },
  input: { type: "string" },
  "root-key": { type: "string" },
  "issuer-key": { type: "string" },
  role: { type: "string" },
  sub: { type: "string" },
  ttl: { type: "string" },
  iss: { type: "string" },
  aud: { type: "string" },
  tenant: { type: "string" },
  audit: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>["values"];

function positiveInt(value: string, flag: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(value)) throw new UsageError(`${flag} must be a positive integer`);
  return Number(value);
}

function kindOf(values: Values, fallback: string | null): string | null {
  const kind = values.kind ?? fallback;
  if (kind !== null && !isArtifactKind(kind)) throw new UsageError("--kind must be a lower-case name such as policy, module or file");
  return kind;
}

/** Ignores key-like environment variables, warning and leaving one audit record naming them. */
async function refuseEnvKeys(env: Env, auditPath: string, io: Io): Promise<void> {
  const names = envKeyOffers(env);
  const event = envKeyOffersEvent(names);
  if (event === null) return;
  io.err(`ignored ${names.join(", ")}: cordon reads keys and trust roots only from files (recorded in the audit log)`);
  const audit = await AuditLog.open(auditPath);
  try {
    await audit.append(event);
  } finally {
    await audit.close();
  }
}

function keysInit(values: Values, positionals: readonly string[], home: string, io: Io): number {
  if (positionals[0] !== "init") throw new UsageError("unknown keys verb; try: cordon keys init [--key PATH]");
  if (values.key === undefined) mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = resolve(values.key ?? join(home, "signing.key"));
  const keyid = initKey(path);
  io.out(`created ${path} (mode 0600) and ${path}.pub\nkeyid ${keyid}`);
  return 0;
}

function sign(values: Values, positionals: readonly string[], io: Io): number {
  const [file] = positionals;
  if (file === undefined || values.key === undefined) throw new UsageError("sign needs a FILE and --key KEY");
  const version = values["artifact-version"] === undefined ? undefined : positiveInt(values["artifact-version"], "--artifact-version");
  const kind = kindOf(values, "file") as string;
  const signed = signFile(file, { keyPath: values.key, predicate: version === undefined ? { kind } : { kind, version }, ...(values.out === undefined ? {} : { out: values.out }) });
  io.out(`signed ${file} (sha256:${signed.sha256}, ${kind}) with key ${signed.keyid}\nwrote ${signed.sigPath}`);
  return 0;
}

function signersFor(bundle: TrustBundle, kind: string | null): ReadonlyMap<string, KeyObject> {
  switch (kind) {
    case "policy":
      return bundle.policySigners;
    case "module":
      return bundle.moduleSigners;
    case "launch":
      return bundle.launchSigners;
    case null:
    default:
      throw new UsageError("with the trust bundle, --kind must be policy, module or launch; use --key PUB for other files");
  }
}

function verify(values: Values, positionals: readonly string[], home: string, io: Io): number {
  const [file] = positionals;
  if (file === undefined) throw new UsageError("verify needs a FILE");
  if (values.key !== undefined && values["trust-root"] !== undefined) throw new UsageError("give either --key or --trust-root, not both");
  let kind = kindOf(values, null);
  let trusted: ReadonlyMap<string, KeyObject>;
  if (values.key !== undefined) {
    const pub = loadPublicKey(values.key);
    trusted = new Map([[pub.keyid, pub.publicKey]]);
  } else {
    const loaded = loadTrustBundle({ dataDir: home, ...(values["trust-root"] === undefined ? {} : { rootKeyPath: values["trust-root"] }) });
    kind ??= "policy";
    trusted = signersFor(loaded.bundle, kind);
  }
  const v = verifyFile(file, trusted, { kind, ...(values.sig === undefined ? {} : { sigPath: values.sig }) });
  io.out(`verified ${file}: sha256:${v.sha256}, ${v.kind}${v.version === null ? "" : ` version ${v.version}`}`);
  return 0;
}

function readInput(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ArtifactUnreadable(path, (err as NodeJS.ErrnoException).code ?? "error");
  }
  try {
    return parseYaml(text, { maxAliasCount: 0 }) as unknown;
  } catch {
    throw new UsageError(`${path} is not YAML or JSON`);
  }
}

function describeBundle(loaded: LoadedTrustBundle): Record<string, unknown> {
  const b = loaded.bundle;
  return {
    version: b.version,
    sha256: b.sha256,
    rootKeyid: loaded.rootKeyid,
    issuers: b.issuers.map((i) => ({
      issuer: i.issuer,
      audience: i.audience,
      algorithms: [...i.algorithms],
      kids: i.jwks.keys.map((k) => k.kid ?? "(none)"),
      roleClaim: i.roleClaim,
      tenantClaim: i.tenantClaim,
      requireTyp: i.requireTyp,
      maxTokenAgeSec: i.maxTokenAgeSec,
      clockSkewSec: i.clockSkewSec,
    })),
    policySigners: [...b.policySigners.keys()],
    moduleSigners: [...b.moduleSigners.keys()],
    launchSigners: [...b.launchSigners.keys()],
  };
}

function printBundle(loaded: LoadedTrustBundle, json: boolean, io: Io): void {
  const d = describeBundle(loaded);
  if (json) {
    io.out(JSON.stringify(d, null, 2));
    return;
  }
  const b = loaded.bundle;
  const lines = [`trust bundle version ${b.version} (sha256:${b.sha256}), signed by root ${loaded.rootKeyid}`];
  for (const i of b.issuers) {
    lines.push(`issuer ${i.issuer}`, `  audience ${i.audience}; algorithms ${i.algorithms.join(", ")}; keys ${i.jwks.keys.map((k) => k.kid ?? "(no kid)").join(", ")}`,
      `  role claim ${i.roleClaim}${i.tenantClaim === null ? "" : `; tenant claim ${i.tenantClaim}`}; typ ${i.requireTyp ?? "(any)"}; max age ${i.maxTokenAgeSec} s; clock skew ${i.clockSkewSec} s`);
  }
  for (const [label, keys] of [["policy signers", b.policySigners], ["module signers", b.moduleSigners], ["launch signers", b.launchSigners]] as const) {
    lines.push(`${label}: ${keys.size === 0 ? "(none)" : [...keys.keys()].join(", ")}`);
  }
  io.out(lines.join("\n"));
}

async function trust(values: Values, positionals: readonly string[], home: string, io: Io): Promise<number> {
  switch (positionals[0]) {
    case "init": {
      if (values.input === undefined) throw new UsageError("trust init needs --input FILE (YAML or JSON, the bundle's shape)");
      const input = resolve(values.input);
      const r = await initTrust({
        dataDir: home,
        input: readInput(input),
        baseDir: dirname(input),
        ...(values["root-key"] === undefined ? {} : { rootKeyPath: resolve(values["root-key"]) }),
        ...(values.out === undefined ? {} : { bundlePath: resolve(values.out) }),
      });
      io.out(`${r.createdRoot ? "created" : "used"} root key ${r.rootKeyPath} (keyid ${r.rootKeyid}), pinned in ${home}\nwrote ${r.bundlePath}`);
      printBundle(r, values.json, io);
      return 0;
    }
    case "show": {
      const loaded = loadTrustBundle({
        dataDir: home,
        ...(values["trust-root"] === undefined ? {} : { rootKeyPath: values["trust-root"] }),
        ...(values.bundle === undefined ? {} : { bundlePath: values.bundle }),
      });
      printBundle(loaded, values.json, io);
      return 0;
    }
    case undefined:
    default:
      throw new UsageError("unknown trust verb; try: cordon trust init --input FILE, or cordon trust show");
  }
}

/** `cordon token mint`'s default lifetime, when the issuer allows that long. */
const DEFAULT_TTL_SEC = 3600;

/** The verified trust bundle, or null where none is set up (minting for a foreign verifier). */
function loadBundleIfAny(home: string): TrustBundle | null {
  try {
    return loadTrustBundle({ dataDir: home }).bundle;
  } catch {
    return null;
  }
}

async function tokenMint(values: Values, positionals: readonly string[], home: string, io: Io): Promise<number> {
  if (positionals[0] !== "mint") throw new UsageError("unknown token verb; try: cordon token mint --issuer-key KEY --role R --sub S");
  const { role, sub } = values;
  if (values["issuer-key"] === undefined || role === undefined || sub === undefined) throw new UsageError("token mint needs --issuer-key KEY, --role R and --sub S");
  const key = loadSigningKey(values["issuer-key"]);
  let issuer = values.iss;
  let audience = values.aud;
  let roleClaim = "role";
  let tenantClaim = "tenant";
  // A token never lives longer than its issuer's maximum age (the verifier refuses it): the
  // bundle's entry for this key says how long that is; a foreign issuer gets the schema's cap.
  let maxTtlSec = MAX_TOKEN_AGE_SEC;
  const { kid } = await publicJwk(key.privateKey);
  const explicit = issuer !== undefined && audience !== undefined;
  const bundle = explicit ? loadBundleIfAny(home) : loadTrustBundle({ dataDir: home }).bundle;
  const found = bundle?.issuers.find((i) => i.jwks.keys.some((k) => k.kid === kid) && (issuer === undefined || i.issuer === issuer));
  if (found === undefined && !explicit) throw new UsageError("no issuer in the trust bundle lists this key; give --iss and --aud");
  if (found !== undefined) {
    issuer ??= found.issuer;
    audience ??= found.audience;
    roleClaim = found.roleClaim;
    tenantClaim = found.tenantClaim ?? tenantClaim;
    maxTtlSec = found.maxTokenAgeSec;
  }
  const ttlSec = values.ttl === undefined ? Math.min(DEFAULT_TTL_SEC, maxTtlSec) : positiveInt(values.ttl, "--ttl");
  if (ttlSec > maxTtlSec) {
    throw new UsageError(`--ttl ${ttlSec} is over the issuer's maximum token lifetime of ${maxTtlSec} s (maxTokenAgeSec); the verifier would refuse the token (ERR_AUTHN_TOKEN_LIFETIME)`);
  }
  if (issuer === undefined || audience === undefined) throw new UsageError("give --iss and --aud");
  const token = await mintToken({
    privateKey: key.privateKey, issuer, audience, subject: sub, role, roleClaim, tenantClaim, ttlSec,
    ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
  });
  io.out(token);
  return 0;
}

/** Runs one identity verb; `argv` starts with the verb. Returns the exit code. */
export async function identityMain(argv: readonly string[], io: Io, env: Env = process.env): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  const [verb, ...rest] = positionals;
  const home = defaultDataDir(env);
  await refuseEnvKeys(env, values.audit ?? defaultAuditPath(env), io);
  switch (verb) {
    case "keys":
      return keysInit(values, rest, home, io);
    case "sign":
      return sign(values, rest, io);
    case "verify":
      return verify(values, rest, home, io);
    case "trust":
      return trust(values, rest, home, io);
    case "token":
      return tokenMint(values, rest, home, io);
    case undefined:
    default:
      throw new UsageError(`unknown command '${verb ?? ""}'`);
  }
}
