/**
 * The TCP sockets a process listens on, read from Linux's `/proc` (no `ss` or `lsof` needed): the
 * address each is bound to, so a test can assert that nothing listens beyond the loopback
 * interface, whatever connects or not from where the test runs.
 *
 * `/proc/net/tcp` and `tcp6` list every socket of the network namespace with its inode;
 * `/proc/<pid>/fd` links each of a process's sockets to its inode (`socket:[<inode>]`).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** A listening TCP socket. */
export interface ListeningSocket {
  /** The address it is bound to, e.g. `127.0.0.1`, `::ffff:127.0.0.1`, `0.0.0.0`, `::`. */
  address: string;
  port: number;
  inode: number;
}

/** `/proc/net/tcp`'s state of a listening socket. */
const LISTEN = '0A';

/** An address as `/proc/net/tcp{,6}` prints it: 32-bit words in hex, each in host (little-endian) order. */
const decodeAddress = (hex: string): string => {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const value = Number.parseInt(hex.slice(word, word + 8), 16);
    bytes.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
  }
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  // The shortest form is not needed: the tests compare with '::1' and '::' only through isLoopback.
  const full = groups.join(':');
  if (full === '0:0:0:0:0:0:0:1') return '::1';
  if (full === '0:0:0:0:0:0:0:0') return '::';
  return full;
};

/** Every listening TCP socket of this network namespace. */
export const listeningSockets = (): ListeningSocket[] =>
  ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === LISTEN)
      .map((fields) => {
        const [address = '', port = '0'] = (fields[1] ?? '').split(':');
        return { address: decodeAddress(address), port: Number.parseInt(port, 16), inode: Number(fields[9]) };
      }),
  );

/** The inodes of the sockets `pid` holds open. */
export const socketInodesOf = (pid: number): Set<number> => {
  const inodes = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(Number(match[1]));
    } catch {
      // closed while we looked
    }
  }
  return inodes;
};

/** The processes whose parent is `pid`. */
export const childrenOf = (pid: number): number[] =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);

/** The listening sockets held by the processes `pids`. */
export const listeningSocketsOf = (pids: readonly number[]): ListeningSocket[] => {
  const held = new Set(pids.flatMap((pid) => [...socketInodesOf(pid)]));
  return listeningSockets().filter((socket) => held.has(socket.inode));
};

/** Whether a bound address is on the loopback interface (127.0.0.0/8, `::1`, or 127.x mapped into IPv6). */
export const isLoopbackAddress = (address: string): boolean =>
  address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');

/**
 * This machine's addresses other than loopback, as `net.connect` takes them (a link-local IPv6 one
 * with its interface, `fe80::1%eth0`): where another machine on the network would connect.
 */
export const nonLoopbackAddresses = (): string[] =>
  Object.entries(networkInterfaces()).flatMap(([name, addresses]) =>
    (addresses ?? [])
      .filter((a) => !a.internal)
      .map((a) =>
        a.family === 'IPv6' && a.address.startsWith('fe80:') ? `${a.address}%${name}` : a.address,
      ),
  );
