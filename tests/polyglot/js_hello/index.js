// `GET /api/hello` in JavaScript, for the benchmark and the tests.
import { endpoint, ok } from "./gatehouse.js";

export const handler = endpoint((req) => ok({ message: `Hello, ${req.query("name") ?? "World"}!` }));
