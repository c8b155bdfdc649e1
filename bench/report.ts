/**
 * The bench's report: one table of rows, section by section, each design next to the other (and
 * the floor), with the targets each section is held to; each section also writes its
 * `bench/results/<section>.json` (and the scaling plot).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { ColdStartResult } from './coldstart.js';
import type { DesignResult, LatencyFigures, LevelResult } from './design-run.js';
import type { FailoverResult } from './failover.js';
import type { FloorResult } from './floor.js';
import { note, RESULTS_DIR } from './harness.js';
import type { BenchSettings } from './plan.js';
import { scalingSvg, writePng } from './plot.js';
import { PRICES } from './prices.js';
import { type Figure, fmt, fmtFigure, ratio } from './stats.js';

/** Targets of issue 6. */
const TARGETS = {
  fanoutRatioAt10k: 10,
  costRatioAt10k: 0.1,
  bundleBytes: 300 * 1024,
  initMs: 100,
  clientFailoverMs: 5_000,
} as const;

/** One row of the table. */
export type Row = [section: string, measure: string, parley: string, reference: string, ratio: string];

/** Writes `bench/results/<name>.json`. */
export const writeJson = (name: string, value: unknown): void => {
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(value, null, 2)}\n`);
};

/** Prints the table to stdout. */
export const printTable = (rows: Row[]): void => {
  const header: Row = ['section', 'measure', 'Parley', 'baseline / floor', 'ratio'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]?.length ?? 0)));
  const line = (row: Row): string => `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  process.stdout.write(`${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
};

/** What was measured, for the report. */
export interface BenchResults {
  parley: DesignResult | undefined;
  baseline: DesignResult | undefined;
  floor: FloorResult | undefined;
  coldStart: ColdStartResult[] | undefined;
  failover: FailoverResult | undefined;
}

/** The report's input: the run's settings and results, and the rows and targets it adds to. */
interface ReportInput extends BenchResults {
  settings: BenchSettings;
  rows: Row[];
  targets: Record<string, unknown>;
  /** A design's results at a level. */
  level: (result: DesignResult | undefined, at: number) => LevelResult | undefined;
  /** The connections open at a level (the level itself when it was not measured), for the row labels. */
  connections: (at: number) => string;
}

/** Latency at the low level: each design against the other, and the same-region figures against the floor. */
const latencyRows = (input: ReportInput): void => {
  const { wanted, low: LOW } = input.settings;
  const { parley, baseline, floor, level, connections, rows } = input;
  if (wanted('latency') && parley && baseline && floor) {
    const p = level(parley, LOW)?.latency;
    const b = level(baseline, LOW)?.latency;
    const section = `latency (ms) @${connections(LOW)}`;
    const kinds = [
      ['same region', 'sameRegion'],
      ['cross region', 'crossRegion'],
      ['global endpoint', 'globalEndpoint'],
    ] as const;
    for (const [label, key] of kinds) {
      for (const q of ['p50', 'p95', 'p99'] as const) {
        const pf = p?.[key][q];
        const bf = b?.[key][q];
        if (!pf || !bf) continue;
        rows.push([
          section,
          `${label} ${q}`,
          fmtFigure(pf),
          `baseline ${fmtFigure(bf)}`,
          fmt(ratio(pf.median, bf.median)),
        ]);
      }
    }
    for (const q of ['p50', 'p95', 'p99'] as const) {
      const pf = p?.sameRegion[q];
      if (!pf) continue;
      rows.push([
        section,
        `same region ${q} vs floor`,
        fmtFigure(pf),
        `floor ${fmtFigure(floor.latency[q])}`,
        fmt(ratio(pf.median, floor.latency[q].median)),
      ]);
    }
    writeJson('latency', {
      connections: level(parley, LOW)?.connections,
      parley: p,
      baseline: b,
      floor: floor.latency,
    });
  }
};

/** Fan-out at the low and high levels, by room size: each design against the other and (low) against the floor; the fan-out targets. */
const fanoutRows = (input: ReportInput): void => {
  const { wanted, low: LOW, high: HIGH, roomSizes: ROOM_SIZES } = input.settings;
  const { parley, baseline, floor, level, connections, rows, targets } = input;
  if (wanted('fanout') && parley && baseline && floor) {
    const out: Record<string, unknown> = { floor: floor.fanout };
    for (const at of [LOW, HIGH]) {
      const p = level(parley, at)?.fanout;
      const b = level(baseline, at)?.fanout;
      out[String(at)] = { connections: level(parley, at)?.connections, parley: p, baseline: b };
      for (const size of ROOM_SIZES) {
        const pf = p?.[String(size)];
        const bf = b?.[String(size)];
        if (!pf || !bf) continue;
        rows.push([
          `fan-out (deliveries/s) @${connections(at)}`,
          `room of ${size}`,
          fmtFigure(pf),
          `baseline ${fmtFigure(bf)}`,
          `${fmt(ratio(pf.median, bf.median))}x`,
        ]);
        const missing = (f: typeof pf): number => f.missingAfterDrain.reduce((sum, n) => sum + n, 0);
        if (missing(pf) > 0 || missing(bf) > 0) {
          rows.push([
            `fan-out @${connections(at)}`,
            `room of ${size}: deliveries not seen after the drain`,
            String(missing(pf)),
            `baseline ${missing(bf)}`,
            '',
          ]);
        }
        if (at === HIGH) {
          targets[`fanout room ${size} @${HIGH}`] = {
            ratio: ratio(pf.median, bf.median),
            target: `>= ${TARGETS.fanoutRatioAt10k}x`,
            met: ratio(pf.median, bf.median) >= TARGETS.fanoutRatioAt10k,
          };
        }
      }
    }
    for (const size of ROOM_SIZES) {
      const ff = floor.fanout[String(size)];
      const pf = level(parley, LOW)?.fanout?.[String(size)];
      if (ff && pf)
        rows.push([
          `fan-out (deliveries/s) @${connections(LOW)}`,
          `room of ${size} vs floor`,
          fmtFigure(pf),
          `floor ${fmtFigure(ff)}`,
          `${fmt(ratio(pf.median, ff.median))}x`,
        ]);
    }
    writeJson('fanout', out);
  }
};

/** Cost per million messages at the low and high levels, and per message by part; the cost target. */
const costRows = (input: ReportInput): void => {
  const { wanted, low: LOW, high: HIGH } = input.settings;
  const { parley, baseline, level, connections, rows, targets } = input;
  if (wanted('cost') && parley && baseline) {
    const out: Record<string, unknown> = { prices: PRICES };
    for (const at of [LOW, HIGH]) {
      const p = level(parley, at)?.cost;
      const b = level(baseline, at)?.cost;
      out[String(at)] = { connections: level(parley, at)?.connections, parley: p, baseline: b };
      if (!p || !b) continue;
      rows.push([
        `cost ($ per million messages) @${connections(at)}`,
        '10-member room, 2 regions',
        fmtFigure(p.perMillion),
        `baseline ${fmtFigure(b.perMillion)}`,
        fmt(ratio(p.perMillion.median, b.perMillion.median)),
      ]);
      const parts = [
        'readUnits',
        'writeUnits',
        'replicatedWriteUnits',
        'lambdaRequests',
        'lambdaGbSeconds',
        'apiGatewayMessages',
      ] as const;
      for (const part of parts) {
        rows.push([
          `cost @${connections(at)}, per message`,
          part,
          fmt(p.median.usage[part]),
          `baseline ${fmt(b.median.usage[part])}`,
          fmt(ratio(p.median.usage[part], b.median.usage[part])),
        ]);
      }
      if (at === HIGH) {
        targets[`cost @${HIGH}`] = {
          ratio: ratio(p.perMillion.median, b.perMillion.median),
          target: `<= ${TARGETS.costRatioAt10k}`,
          met: ratio(p.perMillion.median, b.perMillion.median) <= TARGETS.costRatioAt10k,
        };
      }
    }
    writeJson('cost', out);
  }
};

/** Each handler's bundle size and init time; the bundle and init targets. */
const coldStartRows = (input: ReportInput): void => {
  const { coldStart, rows, targets } = input;
  if (coldStart) {
    for (const c of coldStart) {
      rows.push([
        'cold start',
        c.handler,
        `${fmt(c.bytes / 1024)} KB, init ${fmtFigure(c.initMs, ' ms')}`,
        '',
        '',
      ]);
    }
    const largest = Math.max(...coldStart.map((c) => c.bytes));
    const slowest = Math.max(...coldStart.map((c) => c.initMs.median));
    targets.bundles = {
      largestBytes: largest,
      target: `< ${TARGETS.bundleBytes} bytes`,
      met: largest < TARGETS.bundleBytes,
    };
    targets.init = {
      slowestMedianMs: slowest,
      target: `< ${TARGETS.initMs} ms`,
      met: slowest < TARGETS.initMs,
    };
  }
};

/** Failover through the global endpoint and on the SDK's side; the client failover target. */
const failoverRows = (input: ReportInput): void => {
  const { failover, rows, targets } = input;
  if (failover) {
    rows.push(['failover (ms)', 'global endpoint', fmtFigure(failover.globalEndpointMs), '', '']);
    rows.push(['failover (ms)', 'SDK client-side', fmtFigure(failover.clientSideMs), '', '']);
    targets.clientFailover = {
      medianMs: failover.clientSideMs.median,
      maxMs: failover.clientSideMs.max,
      target: `< ${TARGETS.clientFailoverMs} ms`,
      met: failover.clientSideMs.max < TARGETS.clientFailoverMs,
    };
  }
};

/** Latency and throughput at every level, as rows and as the scaling plot (`bench/results/scaling.png`). */
const scalingRows = async (input: ReportInput): Promise<void> => {
  const { wanted, levels: LEVELS, scalingRoom: SCALING_ROOM, runs: RUNS } = input.settings;
  const { parley, baseline, level, connections, rows } = input;
  if (wanted('scaling') && parley && baseline) {
    const points = (
      result: DesignResult,
      pick: (l: NonNullable<ReturnType<typeof level>>) => Figure | undefined,
    ) =>
      LEVELS.flatMap((at) => {
        const l = level(result, at);
        const y = l ? pick(l) : undefined;
        return l && y ? [{ x: l.connections, y }] : [];
      });
    const latencyOf = (l: NonNullable<ReturnType<typeof level>>): LatencyFigures | undefined =>
      l.latency?.sameRegion;
    const series = {
      latency: {
        parley: points(parley, (l) => latencyOf(l)?.p50),
        baseline: points(baseline, (l) => latencyOf(l)?.p50),
      },
      throughput: {
        parley: points(parley, (l) => l.fanout?.[String(SCALING_ROOM)]),
        baseline: points(baseline, (l) => l.fanout?.[String(SCALING_ROOM)]),
      },
    };
    for (const at of LEVELS) {
      const p = level(parley, at);
      const b = level(baseline, at);
      const pl = p?.latency?.sameRegion.p50;
      const bl = b?.latency?.sameRegion.p50;
      const pt = p?.fanout?.[String(SCALING_ROOM)];
      const bt = b?.fanout?.[String(SCALING_ROOM)];
      if (pl && bl)
        rows.push([
          `scaling @${connections(at)}`,
          'same-region p50 (ms)',
          fmtFigure(pl),
          `baseline ${fmtFigure(bl)}`,
          fmt(ratio(pl.median, bl.median)),
        ]);
      if (pt && bt)
        rows.push([
          `scaling @${connections(at)}`,
          `room of ${SCALING_ROOM} (deliveries/s)`,
          fmtFigure(pt),
          `baseline ${fmtFigure(bt)}`,
          `${fmt(ratio(pt.median, bt.median))}x`,
        ]);
    }
    const svg = scalingSvg(
      [
        {
          title: 'Publish-to-receive latency, same region (p50)',
          yLabel: 'ms (log scale)',
          series: [
            { name: 'Parley', color: '#1f77b4', points: series.latency.parley },
            { name: 'scan-and-broadcast baseline', color: '#d62728', points: series.latency.baseline },
          ],
        },
        {
          title: `Fan-out throughput, room of ${SCALING_ROOM}`,
          yLabel: 'deliveries per second (log scale)',
          series: [
            { name: 'Parley', color: '#1f77b4', points: series.throughput.parley },
            { name: 'scan-and-broadcast baseline', color: '#d62728', points: series.throughput.baseline },
          ],
        },
      ],
      `Local stack, ${cpus().length} cores; median of ${RUNS} runs, whiskers min to max. ${new Date().toISOString().slice(0, 10)}`,
    );
    const png = join(RESULTS_DIR, 'scaling.png');
    const written = await writePng(svg, png);
    if (!written) note('no Chromium at /usr/bin/chromium: wrote scaling.svg only');
    writeJson('scaling', { room: SCALING_ROOM, series });
  }
};

/**
 * The rows of every section measured, in the table's order; fills `targets` with the targets each
 * section is held to.
 */
export const reportRows = async (
  settings: BenchSettings,
  results: BenchResults,
  targets: Record<string, unknown>,
): Promise<Row[]> => {
  const level = (result: DesignResult | undefined, at: number) => result?.levels[String(at)];
  const input: ReportInput = {
    ...results,
    settings,
    rows: [],
    targets,
    level,
    connections: (at) => (level(results.parley, at)?.connections ?? at).toLocaleString('en-US'),
  };
  latencyRows(input);
  fanoutRows(input);
  costRows(input);
  coldStartRows(input);
  failoverRows(input);
  await scalingRows(input);
  return input.rows;
};
