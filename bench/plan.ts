/**
 * What a bench run measures: the command line (`--quick`, `--only <section>`), the connection
 * levels, room sizes and runs it implies, and the plan each design is measured by.
 */
import { parseArgs } from 'node:util';
import type { DesignPlan } from './design-run.js';

/** The sections of the bench, in the order of the table. */
export const SECTIONS = ['latency', 'fanout', 'cost', 'coldstart', 'failover', 'scaling'] as const;
export type Section = (typeof SECTIONS)[number];

/** A run's settings, read from its command line. */
export interface BenchSettings {
  quick: boolean;
  /** The sections asked for with `--only` (none: every section). */
  only: string[];
  wanted(section: Section): boolean;
  /** Connection levels, ascending; `low` and `high` are the first and the last. */
  levels: number[];
  low: number;
  high: number;
  roomSizes: number[];
  /** The room size the scaling plot follows. */
  scalingRoom: number;
  runs: number;
}

/** Reads the command line; throws on an unknown section. */
export const readSettings = (args: string[] = process.argv.slice(2)): BenchSettings => {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
    },
  });
  const quick = values.quick === true;
  const only = (values.only ?? []).flatMap((v) => v.split(','));
  for (const section of only) {
    if (!(SECTIONS as readonly string[]).includes(section))
      throw new Error(`unknown section "${section}"; one of ${SECTIONS.join(', ')}`);
  }
  // Connection levels and amounts: a full run stays under 15 minutes on 2 cores.
  const levels = quick ? [200, 600] : [1_000, 5_000, 10_000];
  return {
    quick,
    only,
    wanted: (section) => only.length === 0 || only.includes(section),
    levels,
    low: levels[0] as number,
    high: levels[levels.length - 1] as number,
    roomSizes: quick ? [10, 100] : [10, 100, 1_000],
    scalingRoom: 100,
    runs: quick ? 2 : 3,
  };
};

/** What each design is measured at, for the sections wanted. */
export const planFor = (settings: BenchSettings): DesignPlan => {
  const { wanted, quick } = settings;
  const { low: LOW, high: HIGH, levels: LEVELS, roomSizes: ROOM_SIZES, scalingRoom: SCALING_ROOM } = settings;
  const levels = new Set<number>();
  const latencyLevels = new Set<number>();
  const fanout = new Map<number, Set<number>>();
  const costLevels = new Set<number>();
  const addFanout = (level: number, sizes: number[]): void => {
    const set = fanout.get(level) ?? new Set<number>();
    for (const size of sizes) set.add(size);
    fanout.set(level, set);
    levels.add(level);
  };
  if (wanted('latency')) {
    levels.add(LOW);
    latencyLevels.add(LOW);
  }
  if (wanted('fanout')) {
    addFanout(LOW, ROOM_SIZES);
    addFanout(HIGH, ROOM_SIZES);
  }
  if (wanted('cost')) {
    levels.add(LOW);
    levels.add(HIGH);
    costLevels.add(LOW);
    costLevels.add(HIGH);
  }
  if (wanted('scaling')) {
    for (const level of LEVELS) {
      latencyLevels.add(level);
      addFanout(level, [SCALING_ROOM]);
    }
  }
  return {
    levels: [...levels].sort((a, b) => a - b),
    latencyLevels: [...latencyLevels],
    fanout: [...fanout].map(([level, sizes]) => ({ level, roomSizes: [...sizes].sort((a, b) => a - b) })),
    costLevels: [...costLevels],
    runs: settings.runs,
    latencyMessages: quick ? 8 : 15,
    fanoutMessages: quick ? { 10: 10, 100: 4 } : { 10: 20, 100: 8, 1000: 3 },
    costMessages: quick ? 4 : 6,
    runBudgetMs: quick ? 5_000 : 6_000,
    fanoutBudgetMs: quick ? 8_000 : 12_000,
    connectConcurrency: 64,
  };
};
