/** A free TCP port on 127.0.0.1, for the parts of the local stack given none (and for the tests). */
import { createServer } from 'node:net';

/** A port the OS says is free right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
