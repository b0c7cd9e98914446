// Spins forever: the CPU budget must stop it like a Rust guest.
import { endpoint } from "./gatehouse.js";

export const handler = endpoint(() => {
  let n = 0;
  for (;;) n++;
});
