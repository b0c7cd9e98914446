// The JavaScript SDK's object storage, one operation per request, for the
// test that holds the Rust, Python and JavaScript SDKs to the same behaviour
// (the same contract as tests/guests/blob_store and tests/polyglot/py_blobs).
// The body is JSON `{"op": …}`; the answer is `ok(…)`, or the platform's
// error envelope when the SDK throws:
//
// - `{"op":"put","key","contentType","base64"}` → `{"info": INFO}`
// - `{"op":"fill","key","contentType","size"}` (that many ASCII `x`) → `{"info": INFO}`
// - `{"op":"get","key"}` → `{"object": null | {…INFO, "base64"}}`
// - `{"op":"head","key"}` → `{"info": null | INFO}`
// - `{"op":"delete","key"}` → `{"deleted": bool}`
// - `{"op":"list","prefix","after","limit"}` → `{"keys", "sizes", "next"}`
// - `{"op":"url","key","expiresIn"}` → `{"url"}`
// - anything else → 400 NO_SUCH_OP
//
// where INFO is `{"key", "contentType", "size", "modifiedMs"}`.
import { BadRequest, blobs, endpoint, ok } from "./gatehouse.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding (no dependence on the engine's `btoa`). */
function toBase64(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : "=";
    out += i + 2 < bytes.length ? ALPHABET[n & 63] : "=";
  }
  return out;
}

/** The bytes of standard base64 (padding optional); 400 if it is not base64. */
function fromBase64(text) {
  const clean = text.replace(/=+$/, "");
  const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const ch of clean) {
    const d = ALPHABET.indexOf(ch);
    if (d < 0) throw new BadRequest(`invalid base64 character ${JSON.stringify(ch)}`);
    value = (value << 6) | d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (value >> bits) & 0xff;
    }
  }
  return bytes.subarray(0, at);
}

const info = (i) => ({ key: i.key, contentType: i.contentType, size: i.size, modifiedMs: i.modifiedMs });

/** A string field, or "" (as the Rust guest reads one). */
const text = (body, field) => (typeof body?.[field] === "string" ? body[field] : "");

/** A non-negative integer field, or `fallback`. */
const number = (body, field, fallback) => (Number.isInteger(body?.[field]) && body[field] >= 0 ? body[field] : fallback);

export const handler = endpoint(async (req) => {
  const body = req.json();
  const key = text(body, "key");
  const op = text(body, "op");
  switch (op) {
    case "put": {
      const data = fromBase64(text(body, "base64"));
      return ok({ info: info(await blobs.put(key, data, text(body, "contentType"))) });
    }
    case "fill": {
      const data = new Uint8Array(number(body, "size", 0)).fill(0x78);
      return ok({ info: info(await blobs.put(key, data, text(body, "contentType"))) });
    }
    case "get": {
      const found = await blobs.get(key);
      return ok({ object: found === null ? null : { ...info(found), base64: toBase64(found.data) } });
    }
    case "head": {
      const found = await blobs.head(key);
      return ok({ info: found === null ? null : info(found) });
    }
    case "delete":
      return ok({ deleted: await blobs.delete(key) });
    case "list": {
      const after = typeof body?.after === "string" ? body.after : undefined;
      const page = await blobs.list({ prefix: text(body, "prefix"), after, limit: number(body, "limit", 100) });
      return ok({ keys: page.objects.map((o) => o.key), sizes: page.objects.map((o) => o.size), next: page.next });
    }
    case "url":
      return ok({ url: await blobs.signedUrl(key, number(body, "expiresIn", 60)) });
    default:
      throw new BadRequest(`no op \`${op}\``, "NO_SUCH_OP");
  }
});
