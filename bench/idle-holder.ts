/**
 * The idle connections of a bench run, held by a child process (`idle-connections.ts`): open
 * files per process are limited, and a killed child's sockets are reset by the kernel at once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { localJwtSecret } from '../local/token.js';
import { onExit, ROOT } from './harness.js';
import type { OpenRequest } from './idle-connections.js';

/** The child process that holds the idle connections (see `idle-connections.ts`). */
export interface IdleHolder {
  open(endpoint: string, users: string[], concurrency: number): Promise<number>;
  /** Kills the child: the kernel resets its connections at once, no close handshakes. */
  kill(): void;
}

/** Forks the child; it is killed when the bench ends, too. */
export const startIdleHolder = (): IdleHolder => {
  const child: ChildProcess = fork(join(ROOT, 'bench', 'idle-connections.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  const off = onExit(async () => kill());
  let requests = 0;
  return {
    open: (endpoint, users, concurrency) =>
      new Promise((resolve, reject) => {
        const id = ++requests;
        const onMessage = (message: { type: string; id: number; count?: number; message?: string }): void => {
          if (message.id !== id) return;
          child.off('message', onMessage);
          if (message.type === 'opened') resolve(message.count ?? 0);
          else reject(new Error(`idle connections: ${message.message ?? 'failed'}`));
        };
        child.on('message', onMessage);
        const request: OpenRequest = {
          type: 'open',
          id,
          endpoint,
          users,
          concurrency,
          jwtSecret: localJwtSecret(),
        };
        child.send(request);
      }),
    kill: () => {
      off();
      kill();
    },
  };
};
