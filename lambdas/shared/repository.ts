/**
 * Re-export, kept only for `bench/design-run.ts`, which writes membership items by hand (it moves
 * onto the store later). All table access is in `lambdas/shared/store/`: import from there.
 */
export { CONNECTION_TTL_SECONDS, keys } from './store/keys.js';
