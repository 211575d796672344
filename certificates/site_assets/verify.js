// Verification page of a Context Course issuer site.
// Checks a dropped-in certificate (its ES256 VC-JWT) in this browser with WebCrypto against
// the issuer's DID document and signed revocation list, both fetched from this same site.
// Nothing is uploaded: the page only reads files from the site it was served from.
"use strict";

const SITE = new URL("../", window.location.href);
const MAX_FILE = 32 * 1024 * 1024;
const LIST_JWT = "revocations.jwt";
const LEVELS = { bronze: "Bronze", silver: "Silver", gold: "Gold" };

class Invalid extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------- encodings

function b64urlDecode(text, what) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Invalid("invalid", `the ${what} is not base64url`);
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  const again = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  if (again !== text) throw new Invalid("invalid", `the ${what} is not canonical base64url`);
  return bytes;
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function b58decode(text) {
  let number = 0n;
  for (const char of text) {
    const value = B58.indexOf(char);
    if (value < 0) throw new Invalid("invalid", "a key is not base58btc");
    number = number * 58n + BigInt(value);
  }
  const bytes = [];
  while (number > 0n) {
    bytes.unshift(Number(number & 0xffn));
    number >>= 8n;
  }
  for (const char of text) {
    if (char !== "1") break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

function modPow(base, exponent, modulus) {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

function bytesToBig(bytes) {
  return bytes.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

function bigToBytes(number, length) {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i -= 1) {
    out[i] = Number(number & 0xffn);
    number >>= 8n;
  }
  return out;
}

// A P-256 Multikey is a compressed point; WebCrypto imports uncompressed points.
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

async function importP256Multikey(multibase) {
  if (typeof multibase !== "string" || !multibase.startsWith("z")) {
    throw new Invalid("invalid", "the issuer key is not a multibase key");
  }
  const raw = b58decode(multibase.slice(1));
  if (raw.length !== 35 || raw[0] !== 0x80 || raw[1] !== 0x24 || (raw[2] !== 2 && raw[2] !== 3)) {
    throw new Invalid("invalid", "the issuer key is not a P-256 Multikey");
  }
  const x = bytesToBig(raw.slice(3));
  const rhs = (((x * x * x - 3n * x + B) % P) + P) % P;
  let y = modPow(rhs, (P + 1n) / 4n, P);
  if ((y * y) % P !== rhs) throw new Invalid("invalid", "the issuer key is not on the curve");
  if (Number(y & 1n) !== (raw[2] & 1)) y = P - y;
  const point = new Uint8Array(65);
  point[0] = 4;
  point.set(bigToBytes(x, 32), 1);
  point.set(bigToBytes(y, 32), 33);
  return crypto.subtle.importKey("raw", point, { name: "ECDSA", namedCurve: "P-256" }, false, [
    "verify",
  ]);
}

// ---------------------------------------------------------------- the issuer site

async function fetchText(relative) {
  const response = await fetch(new URL(relative, SITE), { cache: "no-store", credentials: "omit" });
  if (!response.ok) return null;
  return response.text();
}

let didDocument = null;

async function loadDidDocument() {
  if (didDocument) return didDocument;
  for (const path of ["did.json", ".well-known/did.json"]) {
    const text = await fetchText(path);
    if (text !== null) {
      didDocument = JSON.parse(text);
      return didDocument;
    }
  }
  throw new Invalid("invalid", "this site publishes no DID document");
}

function parseTime(value, what) {
  const moment = Date.parse(value);
  if (typeof value !== "string" || Number.isNaN(moment)) {
    throw new Invalid("invalid", `${what} is not a date`);
  }
  return moment;
}

// Verify one compact ES256 JWT against the issuer's DID document; returns its payload.
async function verifyJwt(token) {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || parts.some((part) => part.length === 0)) {
    throw new Invalid("invalid", "not a compact JWT");
  }
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const header = JSON.parse(decoder.decode(b64urlDecode(parts[0], "JWT header")));
  const payload = JSON.parse(decoder.decode(b64urlDecode(parts[1], "JWT payload")));
  const signature = b64urlDecode(parts[2], "JWT signature");
  if (header.alg !== "ES256" || "crit" in header || signature.length !== 64) {
    throw new Invalid("invalid", "only ES256 JWTs are accepted");
  }
  const doc = await loadDidDocument();
  const kid = String(header.kid || "");
  const method = (doc.verificationMethod || []).find((vm) => vm.id === kid);
  if (
    !kid.startsWith(`${doc.id}#`) ||
    !method ||
    method.type !== "Multikey" ||
    method.controller !== doc.id ||
    !(doc.assertionMethod || []).includes(kid)
  ) {
    throw new Invalid("invalid", "signed by a key the issuer's DID document does not list");
  }
  const key = await importP256Multikey(method.publicKeyMultibase);
  const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, signed);
  if (!ok) throw new Invalid("invalid", "the signature does not match the content: it was altered");
  const issuer = typeof payload.issuer === "string" ? payload.issuer : (payload.issuer || {}).id;
  if (payload.iss !== doc.id || issuer !== doc.id) {
    throw new Invalid("invalid", `issued by ${issuer}, not by this site's issuer ${doc.id}`);
  }
  if (payload.jti !== payload.id) throw new Invalid("invalid", "the JWT claims contradict it");
  const from = parseTime(payload.validFrom, "validFrom");
  if (payload.nbf !== Math.floor(from / 1000)) {
    throw new Invalid("invalid", "the JWT claims contradict it");
  }
  if (method.expires !== undefined && from > parseTime(method.expires, "the key's expiry")) {
    throw new Invalid("invalid", "signed with a key the issuer had retired by then");
  }
  return payload;
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const inflated = new Uint8Array(await new Response(stream).arrayBuffer());
  if (inflated.length > 16 * 1024 * 1024) throw new Invalid("unknown", "the list is too large");
  return inflated;
}

async function revocationState(credential) {
  const status = credential.credentialStatus;
  if (!status || typeof status !== "object") return { state: "none" };
  const text = await fetchText(LIST_JWT);
  if (text === null) {
    return { state: "unknown", message: "this site publishes no revocation list" };
  }
  let list;
  try {
    list = await verifyJwt(text);
  } catch (error) {
    return { state: "unknown", message: `the revocation list does not verify: ${error.message}` };
  }
  if (list.id !== status.statusListCredential) {
    return { state: "unknown", message: "this site's list is not the one the certificate names" };
  }
  const subject = list.credentialSubject || {};
  const encoded = String(subject.encodedList || "");
  if (subject.statusPurpose !== "revocation" || !encoded.startsWith("u")) {
    return { state: "unknown", message: "the revocation list is malformed" };
  }
  const bits = await gunzip(b64urlDecode(encoded.slice(1), "revocation list"));
  const index = Number.parseInt(String(status.statusListIndex), 10);
  if (!(index >= 0 && index < bits.length * 8)) {
    return { state: "unknown", message: "the certificate's index is outside the list" };
  }
  if (bits[index >> 3] & (0x80 >> (index & 7))) {
    return { state: "revoked", message: `revoked by the issuer (list of ${list.validFrom})` };
  }
  if (parseTime(list.validUntil, "the list's validUntil") < Date.now()) {
    return {
      state: "unknown",
      message: `revocation status unknown: the revocation list expired on ${list.validUntil}`,
    };
  }
  return { state: "not revoked", message: `not revoked (revocation list of ${list.validFrom})` };
}

// ---------------------------------------------------------------- reading the file

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngCredential(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = [];
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.slice(offset + 4, offset + 8));
    const body = bytes.slice(offset + 8, offset + 8 + length);
    if (type === "iTXt") {
      const keywordEnd = body.indexOf(0);
      const keyword = String.fromCharCode(...body.slice(0, keywordEnd));
      if (keyword === "openbadgecredential") {
        let rest = body.slice(keywordEnd + 3);
        rest = rest.slice(rest.indexOf(0) + 1);
        rest = rest.slice(rest.indexOf(0) + 1);
        found.push(new TextDecoder("utf-8", { fatal: true }).decode(rest));
      }
    }
    if (type === "IEND") break;
    offset += 12 + length;
  }
  if (found.length !== 1) throw new Invalid("invalid", "the PNG carries no single baked credential");
  return found[0];
}

function textCredential(text) {
  const trimmed = text.trim();
  if (trimmed.startsWith("<")) {
    const isSvg = /<svg[\s>]/.test(trimmed.slice(0, 4096)) && !/<html[\s>]/i.test(trimmed.slice(0, 4096));
    const doc = new DOMParser().parseFromString(trimmed, isSvg ? "image/svg+xml" : "text/html");
    if (isSvg) {
      const nodes = doc.getElementsByTagNameNS("https://purl.imsglobal.org/ob/v3p0", "credential");
      if (nodes.length !== 1) throw new Invalid("invalid", "the SVG carries no single baked credential");
      return nodes[0].getAttribute("verify") || "";
    }
    const scripts = doc.querySelectorAll("script#open-badge-credential-jwt");
    if (scripts.length !== 1) throw new Invalid("invalid", "the page carries no single VC-JWT");
    return scripts[0].textContent;
  }
  return trimmed;
}

async function tokenFrom(file) {
  if (file.size > MAX_FILE) throw new Invalid("invalid", "the file is too large to be a certificate");
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) return pngCredential(bytes);
  if (bytes[0] === 0x25 && bytes[1] === 0x50 && bytes[2] === 0x44 && bytes[3] === 0x46) {
    throw new Invalid("invalid", "drop the certificate's .html, .png, .svg or .jwt (PDFs are checked with context-course verify)");
  }
  return textCredential(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
}

// ---------------------------------------------------------------- showing the verdict

function signedName(credential) {
  const identifiers = (credential.credentialSubject || {}).identifier || [];
  const item = identifiers.find((id) => id && id.identityType === "name" && id.hashed === false);
  return item ? String(item.identityHash) : "";
}

function longDate(stamp) {
  const moment = new Date(parseTime(stamp, "validFrom"));
  return moment.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
}

function expectedFromFragment() {
  const match = /^#([0-9a-f-]{36})\.([0-9a-f]{16})$/.exec(window.location.hash);
  return match ? { id: `urn:uuid:${match[1]}`, digest: match[2] } : null;
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function show(status, verdict, message, credential) {
  const result = document.getElementById("result");
  result.dataset.status = status;
  document.getElementById("verdict").textContent = verdict;
  document.getElementById("message").textContent = message;
  const fields = document.getElementById("fields");
  fields.hidden = !credential;
  if (!credential) return;
  const achievement = credential.credentialSubject.achievement || {};
  const levelKey = String(achievement.id || "").split("/").pop().replace(/\.json$/, "");
  document.getElementById("name").textContent = signedName(credential);
  document.getElementById("level").textContent = LEVELS[levelKey] || String(achievement.name);
  document.getElementById("date").textContent = longDate(credential.validFrom);
  document.getElementById("course").textContent = String(achievement.name || "").split(" — ")[0];
  document.getElementById("issuer").textContent = String((credential.issuer || {}).name || "");
  document.getElementById("certificate").textContent = String(credential.id || "");
}

async function check(file) {
  const result = document.getElementById("result");
  result.dataset.done = "false";
  show("unknown", "Checking…", "", null);
  try {
    const token = await tokenFrom(file);
    const credential = await verifyJwt(token);
    const expected = expectedFromFragment();
    if (expected) {
      const digest = (await sha256Hex(token.trim())).slice(0, 16);
      if (expected.id !== credential.id || expected.digest !== digest) {
        throw new Invalid("invalid", "this is not the certificate the QR code names");
      }
    }
    if (!Array.isArray(credential.type) || !credential.type.includes("OpenBadgeCredential")) {
      throw new Invalid("invalid", "not an Open Badges 3.0 credential");
    }
    const now = Date.now();
    if (parseTime(credential.validFrom, "validFrom") > now + 300000) {
      throw new Invalid("invalid", `not valid before ${credential.validFrom}`);
    }
    if (credential.validUntil !== undefined && parseTime(credential.validUntil, "validUntil") < now) {
      throw new Invalid("invalid", `expired on ${credential.validUntil}`);
    }
    const status = await revocationState(credential);
    if (status.state === "revoked") {
      show("revoked", "REVOKED", status.message, credential);
    } else if (status.state === "unknown") {
      show("unknown", "VALID signature, revocation status unknown", status.message, credential);
    } else {
      show("valid", "VALID", status.message || "signed by the issuer", credential);
    }
  } catch (error) {
    const status = error instanceof Invalid ? error.status : "invalid";
    const message = error instanceof Invalid ? error.message : `unreadable certificate (${error.message})`;
    show(status === "unknown" ? "unknown" : "invalid", "INVALID", message, null);
  }
  result.dataset.done = "true";
}

function start() {
  const expected = expectedFromFragment();
  if (expected) {
    const note = document.getElementById("expected");
    note.textContent = `The QR code names certificate ${expected.id}; drop that certificate's file to check it.`;
    note.hidden = false;
  }
  const drop = document.getElementById("drop");
  const input = document.getElementById("file");
  input.addEventListener("change", () => {
    if (input.files.length === 1) check(input.files[0]);
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length === 1) check(event.dataTransfer.files[0]);
  });
  document.body.dataset.ready = "true";
}

start();
