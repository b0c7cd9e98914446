// Types for gatehouse.js, the Gatehouse SDK for JavaScript and TypeScript endpoints.

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A header, as a name/value pair (names lower-case on requests). */
export type Header = [name: string, value: string];

/** One part of a `multipart/form-data` body. */
export interface Part {
  name: string;
  fileName?: string;
  contentType?: string;
  data: Uint8Array;
}

/** One request, already admitted by the platform's gate (authenticated, rate limited, validated). */
export class EndpointRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Uint8Array;
  readonly requestId: string;
  readonly params: Record<string, string>;
  readonly headers: Header[];
  /** A route parameter, e.g. `id` for `/api/posts/{id}`. */
  param(name: string): string | undefined;
  /** The first value of a query parameter. */
  query(name: string): string | undefined;
  /** Every value of a query parameter, in order. */
  queryAll(name: string): string[];
  /** The first value of a header (case-insensitive). */
  header(name: string): string | undefined;
  /** The body as text. */
  text(): string;
  /** The body parsed as JSON; throws 400 INVALID_JSON if it does not parse. */
  json<T = any>(): T;
  /** The parts of a `multipart/form-data` body; throws 400 if it is not one. */
  multipart(): Part[];
}

/** A whole response, as the handler returns it. */
export interface Response {
  status: number;
  headers: Header[];
  body: Uint8Array;
}

/** Any response. */
export function response(status: number, body?: string | Uint8Array, headers?: Header[]): Response;
/** `{"success": true, "data": data}` with this status (200 by default). */
export function ok(data: unknown, status?: number): Response;
/** `201 {"success": true, "data": data}`. */
export function created(data: unknown): Response;
/** `value` as the whole JSON body, without the envelope. */
export function jsonResponse(value: unknown, status?: number): Response;

/** The kinds of failure, each with its status. */
export type ErrorKind =
  | "bad-request"
  | "validation-failed"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "conflict"
  | "payload-too-large"
  | "unsupported-media-type"
  | "unprocessable"
  | "too-many-requests"
  | "internal"
  | "unavailable";

/** A failure the platform renders as its envelope: `{success: false, error, code, details, requestId}`. */
export class HttpError extends Error {
  constructor(kind: ErrorKind, message: string, code?: string, details?: unknown);
  readonly kind: ErrorKind;
  code?: string;
  details?: unknown;
  withCode(code: string): this;
}
export class BadRequest extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class ValidationFailed extends HttpError {
  constructor(details: Record<string, string>, message?: string, code?: string);
}
export class Unauthorized extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class Forbidden extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class NotFound extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class Conflict extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class PayloadTooLarge extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class UnsupportedMediaType extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class Unprocessable extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class TooManyRequests extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class Internal extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export class Unavailable extends HttpError {
  constructor(message: string, code?: string, details?: unknown);
}
export function badRequest(message: string, code?: string): HttpError;
export function validationFailed(details: Record<string, string>, message?: string): HttpError;
export function unauthorized(message: string, code?: string): HttpError;
export function forbidden(message: string, code?: string): HttpError;
export function notFound(message: string, code?: string): HttpError;
export function conflict(message: string, code?: string): HttpError;
export function unprocessable(message: string, code?: string): HttpError;
export function internal(message: string, code?: string): HttpError;
export function unavailable(message: string, code?: string): HttpError;

/** The value an endpoint's `export const handler` must be. */
export interface Handler {
  handle(raw: unknown): Promise<Response>;
}
/** Makes `fn` the endpoint's handler: it returns a `Response` or a JSON value (sent as `ok(value)`), or throws. */
export function endpoint(fn: (req: EndpointRequest) => Response | Json | Promise<Response | Json>): Handler;

/** The caller. */
export interface Principal {
  kind: "api-key" | "session" | "anonymous";
  tenant: string;
  userId?: string;
  keyId?: string;
  scopes: string[];
  claims: Record<string, unknown>;
  hasScope(scope: string): boolean;
  isAuthenticated(): boolean;
}
export const auth: {
  current(): Principal;
  hasScope(scope: string): boolean;
  isAuthenticated(): boolean;
};

export const config: {
  /** A variable or a secret granted to this endpoint. */
  get(name: string): string | undefined;
};

/** A value a statement takes: numbers, strings, booleans, bytes, null; anything else as JSON. */
export type DbValue = null | undefined | boolean | number | bigint | string | Uint8Array | Json;
export type Row = Record<string, any>;
export interface Transaction {
  query(sql: string, ...params: DbValue[]): Promise<Row[]>;
  execute(sql: string, ...params: DbValue[]): Promise<number>;
}
export const db: {
  query(sql: string, ...params: DbValue[]): Promise<Row[]>;
  execute(sql: string, ...params: DbValue[]): Promise<number>;
  transaction<T>(fn: (tx: Transaction) => T | Promise<T>): Promise<T>;
};

/** What is stored under a key. */
export interface ObjectInfo {
  key: string;
  /** As given to `put`, e.g. `image/png`. */
  contentType: string;
  /** Bytes. */
  size: number;
  /** When it was stored, in milliseconds since the Unix epoch. */
  modifiedMs: number;
}
/** An object and its bytes (a plain record, not a WHATWG `Blob`). */
export interface StoredObject extends ObjectInfo {
  data: Uint8Array;
  /** The bytes as UTF-8 text. */
  text(): string;
}
/** One page of a listing, in key order. */
export interface Listing {
  objects: ObjectInfo[];
  /** Pass as `after` for the next page; null: this was the last. */
  next: string | null;
}
export interface ListOptions {
  /** Only keys that start with this (all keys by default). */
  prefix?: string;
  /** Only keys after this one: the previous page's `next`. */
  after?: string | null;
  /** At most this many, 1 to 1000 (100 by default). */
  limit?: number;
}
/**
 * The tenant's object storage: bytes under keys such as `uploads/u1/cat.png`.
 * A key is 1 to 1024 bytes of UTF-8 in segments separated by `/`: no leading
 * `/`, no empty, `.` or `..` segment, no control characters or backslash
 * (else 500 BLOB_INVALID). Storing past the tenant's quota is 413
 * BLOB_QUOTA_EXCEEDED, an object over the platform's largest 413 BLOB_TOO_LARGE.
 */
export const blobs: {
  /**
   * Stores `data` (a string as UTF-8) under `key`, replacing what was there;
   * an empty content type is stored as `application/octet-stream`.
   */
  put(key: string, data: string | Uint8Array | ArrayBuffer, contentType?: string): Promise<ObjectInfo>;
  /** The object under `key` with its bytes, or null. */
  get(key: string): Promise<StoredObject | null>;
  /** What is stored under `key`, without its bytes, or null. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Removes the object under `key`; whether there was one. */
  delete(key: string): Promise<boolean>;
  /** One page of the objects whose keys start with `prefix`, in key order. */
  list(options?: ListOptions): Promise<Listing>;
  /**
   * A URL anyone holding it may fetch the object from, with its content type,
   * for `expiresIn` seconds (3600 by default; at most the platform's
   * `blobs.max_url_expiry`).
   */
  signedUrl(key: string, expiresIn?: number): Promise<string>;
};

export interface FetchInit {
  method?: string;
  headers?: Header[] | Record<string, string>;
  body?: string | Uint8Array;
  /** A value sent as a JSON body (with its content type). */
  json?: unknown;
  timeoutMs?: number;
}
/** Response headers, read like WHATWG `Headers`. */
export interface ResponseHeaders extends Iterable<[string, string]> {
  get(name: string): string | null;
  has(name: string): boolean;
  entries(): IterableIterator<[string, string]>;
}
export class FetchResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: ResponseHeaders;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  json<T = any>(): Promise<T>;
}
export interface SseMessage {
  event?: string;
  data: string;
}
export class StreamingResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: ResponseHeaders;
  read(): Promise<Uint8Array | null>;
  events(): AsyncGenerator<SseMessage>;
}
export const http: {
  fetch(url: string, init?: FetchInit): Promise<FetchResponse>;
  fetchStream(url: string, init?: FetchInit): Promise<StreamingResponse>;
};

export class StreamClosed extends Error {}
export const stream: {
  start(status?: number, headers?: Header[]): void;
  write(chunk: string | Uint8Array): void;
  /** One server-sent event; leave `event` unset for a browser's `EventSource.onmessage`. Throws `StreamClosed` once the client left. */
  sendEvent(data: unknown, options?: { event?: string; id?: string; retryMs?: number }): void;
};

export const log: {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
};

/** Waits `ms` (counts against the wall-time budget only). */
export function sleep(ms: number): Promise<void>;
