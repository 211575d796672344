// Verify certificates with the ecosystem's own verifiers, offline, against a published
// issuer site: @digitalbazaar/vc (Data Integrity, eddsa-rdfc-2022) for the credential JSON
// and its revocation list, and jose for the VC-JWT.
//
// usage: node verify_site.mjs SITE_DIR ISSUER_URL CONTEXT_DIR FILE...
//   SITE_DIR     the folder `context-course publish` wrote (served at ISSUER_URL)
//   CONTEXT_DIR  holds ob-v3p0-context-3.0.3.json (the OB context, shipped with certificates)
//   FILE         credential.json or credential.jwt files
// Prints one JSON object per line: {file, verifier, verified, error}.
// The document loader serves did:web and https URLs from SITE_DIR and the standard
// contexts from their npm packages; any other URL fails (nothing touches the network).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

import * as vc from "@digitalbazaar/vc";
import { DataIntegrityProof } from "@digitalbazaar/data-integrity";
import { cryptosuite as eddsaRdfc2022CryptoSuite } from "@digitalbazaar/eddsa-rdfc-2022-cryptosuite";
import { contexts as credentialsContexts } from "@digitalbazaar/credentials-context";
import didContext from "did-context";
import multikeyContext from "@digitalbazaar/multikey-context";
import * as jose from "jose";

const [siteDir, issuerUrl, contextDir, ...files] = process.argv.slice(2);
const issuerBase = issuerUrl.replace(/\/$/, "");

const staticContexts = new Map([
  ...credentialsContexts,
  [didContext.constants.DID_CONTEXT_URL, didContext.contexts.get(didContext.constants.DID_CONTEXT_URL)],
  [multikeyContext.CONTEXT_URL, multikeyContext.CONTEXT],
  [
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    JSON.parse(fs.readFileSync(path.join(contextDir, "ob-v3p0-context-3.0.3.json"), "utf8")),
  ],
]);

function siteFile(url) {
  if (!url.startsWith(`${issuerBase}/`)) throw new Error(`not on the issuer site: ${url}`);
  const relative = url.slice(issuerBase.length + 1);
  const full = path.resolve(siteDir, relative);
  if (!full.startsWith(path.resolve(siteDir) + path.sep)) throw new Error(`outside the site: ${url}`);
  return fs.readFileSync(full, "utf8");
}

// did:web:host:a:b -> https://host/a/b/did.json ; did:web:host -> https://host/.well-known/did.json
function didWebUrl(did) {
  const parts = did.slice("did:web:".length).split(":").map(decodeURIComponent);
  const host = parts.shift();
  return parts.length
    ? `https://${host}/${parts.join("/")}/did.json`
    : `https://${host}/.well-known/did.json`;
}

function resolveDid(didUrl) {
  const [did, fragment] = didUrl.split("#");
  const doc = JSON.parse(siteFile(didWebUrl(did)));
  if (doc.id !== did) throw new Error(`the DID document at ${didWebUrl(did)} is not ${did}`);
  if (!fragment) return doc;
  const method = doc.verificationMethod.find((vm) => vm.id === didUrl);
  if (!method) throw new Error(`${didUrl} is not in the DID document`);
  return { "@context": doc["@context"], ...method };
}

async function documentLoader(url) {
  let document;
  if (staticContexts.has(url)) document = staticContexts.get(url);
  else if (url.startsWith("did:web:")) document = resolveDid(url);
  else if (url.startsWith("https://")) document = JSON.parse(siteFile(url));
  else throw new Error(`document loader refuses ${url}`);
  return { contextUrl: null, documentUrl: url, document };
}

const suite = () => new DataIntegrityProof({ cryptosuite: eddsaRdfc2022CryptoSuite });

// BitstringStatusList check: the list must itself verify with vc.js, then read the bit.
async function checkStatus({ credential }) {
  const status = credential.credentialStatus;
  try {
    const { document: list } = await documentLoader(status.statusListCredential);
    const listResult = await vc.verifyCredential({ credential: list, suite: suite(), documentLoader });
    if (!listResult.verified) {
      return { verified: false, error: new Error(`status list: ${summary(listResult)}`) };
    }
    if (new Date(list.validUntil) < new Date()) {
      return { verified: false, error: new Error("the status list has expired") };
    }
    const encoded = list.credentialSubject.encodedList;
    const bits = zlib.gunzipSync(Buffer.from(encoded.slice(1), "base64url"));
    const index = Number.parseInt(status.statusListIndex, 10);
    const revoked = Boolean(bits[index >> 3] & (0x80 >> (index & 7)));
    return revoked
      ? { verified: false, error: new Error("revoked") }
      : { verified: true };
  } catch (error) {
    return { verified: false, error };
  }
}

function summary(result) {
  const errors = [];
  const collect = (value) => {
    if (!value) return;
    if (Array.isArray(value)) value.forEach(collect);
    else if (value.message) errors.push(value.message);
  };
  collect(result.error?.errors ?? result.error);
  for (const item of result.results ?? []) collect(item.error);
  if (result.statusResult?.error) errors.push(`status: ${result.statusResult.error.message}`);
  return errors.join("; ") || "not verified";
}

async function verifyJson(file) {
  const credential = JSON.parse(fs.readFileSync(file, "utf8"));
  const result = await vc.verifyCredential({ credential, suite: suite(), documentLoader, checkStatus });
  return { verified: result.verified, error: result.verified ? null : summary(result) };
}

function p256Jwk(multibase) {
  const raw = Buffer.from(
    // base58btc
    (() => {
      const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
      let n = 0n;
      for (const c of multibase.slice(1)) n = n * 58n + BigInt(alphabet.indexOf(c));
      return n.toString(16).padStart(70, "0");
    })(),
    "hex",
  );
  if (raw[0] !== 0x80 || raw[1] !== 0x24) throw new Error("not a P-256 multikey");
  const point = crypto.ECDH.convertKey(raw.subarray(2), "prime256v1", undefined, undefined, "uncompressed");
  return {
    kty: "EC",
    crv: "P-256",
    x: Buffer.from(point.subarray(1, 33)).toString("base64url"),
    y: Buffer.from(point.subarray(33)).toString("base64url"),
  };
}

async function verifyJwt(file) {
  const token = fs.readFileSync(file, "utf8").trim();
  try {
    const header = jose.decodeProtectedHeader(token);
    const method = resolveDid(header.kid);
    const did = header.kid.split("#")[0];
    if (method.controller !== did) throw new Error("the key is not controlled by its DID");
    const key = await jose.importJWK(p256Jwk(method.publicKeyMultibase), "ES256");
    const { payload } = await jose.jwtVerify(token, key, { algorithms: ["ES256"], issuer: did });
    if (payload.issuer?.id !== did) throw new Error("the credential's issuer is not the signer");
    return { verified: true, error: null };
  } catch (error) {
    return { verified: false, error: error.message };
  }
}

for (const file of files) {
  const result = file.endsWith(".jwt") ? await verifyJwt(file) : await verifyJson(file);
  const verifier = file.endsWith(".jwt") ? "jose" : "@digitalbazaar/vc";
  process.stdout.write(JSON.stringify({ file, verifier, ...result }) + "\n");
}
