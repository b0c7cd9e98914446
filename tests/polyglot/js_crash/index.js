// Throws an exception it does not handle: a bug, answered 500 GUEST_TRAP like a Rust panic.
import { endpoint } from "./gatehouse.js";

export const handler = endpoint((req) => {
  throw new Error(`deliberate crash for request ${req.requestId}`);
});
