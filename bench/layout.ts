/**
 * How the bench lays out its sockets and rooms on one stack: the members of the measured rooms in
 * the first region, a few sockets in the second region and through the global endpoint, and the
 * rooms each measure uses.
 */
import type { BenchSocket } from './clients.js';

/** The fan-out room of `size` members. */
export const ROOM = (size: number): string => `bench-${size}`;
export const LATENCY_ROOM = 'bench-latency';
export const COST_ROOM = 'bench-cost';
/** Sockets of the second region: the cross-region receiver and half the cost room. */
export const SECOND_REGION_SOCKETS = 10;
/** Members of the cost room per region. */
export const COST_MEMBERS_PER_REGION = 5;

/** A frame handler that drops every frame (a socket between measures). */
export const noop = (): void => undefined;

/** The sockets a design's measures use, by where they connected. */
export interface Layout {
  first: BenchSocket[];
  second: BenchSocket[];
  global: BenchSocket[];
}
