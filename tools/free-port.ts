// A TCP port nothing listens on right now, for the servers that tests, benchmarks and the dev
// script start side by side (the OS picks it, so parallel runs never collide).
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
