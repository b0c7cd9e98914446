// `GET /api/hello` in JavaScript, for the benchmark and the tests: the docs'
// answer, `{"message": "Hello World"}`, as the Rust example gives it.
import { endpoint, jsonResponse } from "./gatehouse.js";

export const handler = endpoint((req) => jsonResponse({ message: `Hello ${req.query("name") ?? "World"}` }));
