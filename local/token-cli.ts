/**
 * `npm run token -- <user> [--ttl <seconds>]`: prints a JWT the local stack accepts, signed with
 * `PARLEY_JWT_SECRET` (default `parley-local-secret`).
 */
import { signLocalToken } from './token.js';

const args = process.argv.slice(2);
const ttlIndex = args.indexOf('--ttl');
const ttl = ttlIndex >= 0 ? Number(args[ttlIndex + 1]) : undefined;
const user = args.find((arg, index) => !arg.startsWith('--') && (ttlIndex < 0 || index !== ttlIndex + 1));

if (!user || (ttl !== undefined && !Number.isInteger(ttl))) {
  process.stderr.write('usage: npm run token -- <user> [--ttl <seconds>]\n');
  process.exit(2);
}
process.stdout.write(`${await signLocalToken(user, ttl !== undefined ? { expiresInSeconds: ttl } : {})}\n`);
