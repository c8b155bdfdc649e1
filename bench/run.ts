/**
 * `npm run bench [-- --quick] [-- --only <section>]`: measures Parley next to the scan-and-broadcast
 * baseline (and a bare `ws` broadcast server, the floor) on local stacks it starts itself on free
 * 127.0.0.1 ports, prints one table, and writes `bench/results/<section>.json`,
 * `bench/results/summary.json` and `bench/results/scaling.png`.
 *
 * Sections: latency, fanout, cost, coldstart, failover, scaling. Every figure is the median of
 * several runs with their min and max.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ColdStartResult, runColdStart } from './coldstart.js';
import { type DesignPlan, type DesignResult, type LatencyFigures, runDesign } from './design-run.js';
import { type FailoverResult, runFailover } from './failover.js';
import { type FloorResult, runFloor } from './floor.js';
import { note, RESULTS_DIR, stopAll } from './harness.js';
import { scalingSvg, writePng } from './plot.js';
import { PRICES } from './prices.js';
import { type Figure, fmt, fmtFigure, ratio } from './stats.js';

const SECTIONS = ['latency', 'fanout', 'cost', 'coldstart', 'failover', 'scaling'] as const;
type Section = (typeof SECTIONS)[number];

/** Targets of issue 6. */
const TARGETS = {
  fanoutRatioAt10k: 10,
  costRatioAt10k: 0.1,
  bundleBytes: 300 * 1024,
  initMs: 100,
  clientFailoverMs: 5_000,
} as const;

const { values } = parseArgs({
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
const wanted = (section: Section): boolean => only.length === 0 || only.includes(section);

/** Connection levels and amounts: a full run stays under 15 minutes on 2 cores. */
const LEVELS = quick ? [200, 600] : [1_000, 5_000, 10_000];
const [LOW, HIGH] = [LEVELS[0] as number, LEVELS[LEVELS.length - 1] as number];
const ROOM_SIZES = quick ? [10, 100] : [10, 100, 1_000];
const SCALING_ROOM = 100;
const RUNS = quick ? 2 : 3;

const planFor = (): DesignPlan => {
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
    runs: RUNS,
    latencyMessages: quick ? 8 : 15,
    fanoutMessages: quick ? { 10: 10, 100: 4 } : { 10: 20, 100: 8, 1000: 3 },
    costMessages: quick ? 4 : 6,
    runBudgetMs: quick ? 5_000 : 6_000,
    fanoutBudgetMs: quick ? 8_000 : 12_000,
    connectConcurrency: 64,
  };
};

type Row = [section: string, measure: string, parley: string, reference: string, ratio: string];

const writeJson = (name: string, value: unknown): void => {
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(value, null, 2)}\n`);
};

const printTable = (rows: Row[]): void => {
  const header: Row = ['section', 'measure', 'Parley', 'baseline / floor', 'ratio'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]?.length ?? 0)));
  const line = (row: Row): string => `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  process.stdout.write(`${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
};

const main = async (): Promise<void> => {
  const started = Date.now();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const plan = planFor();
  const rows: Row[] = [];
  const summary: Record<string, unknown> = {
    command: `npm run bench${quick ? ' -- --quick' : ''}${only.length > 0 ? ` -- --only ${only.join(',')}` : ''}`,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      // Other work on the machine skews every figure; the load average says how much there was.
      loadAverageAtStart: loadavg(),
    },
    plan,
    targets: {} as Record<string, unknown>,
  };
  const targets = summary.targets as Record<string, unknown>;

  let coldStart: ColdStartResult[] | undefined;
  if (wanted('coldstart')) {
    note('cold start: bundling every handler and timing its init');
    coldStart = await runColdStart(3);
    writeJson('coldstart', coldStart);
  }

  let floor: FloorResult | undefined;
  if (wanted('latency') || wanted('fanout')) {
    note('floor: a bare ws broadcast server');
    floor = await runFloor({
      runs: RUNS,
      latencyMessages: quick ? 20 : 100,
      roomSizes: ROOM_SIZES,
      fanoutMessages: plan.fanoutMessages,
    });
  }

  let parley: DesignResult | undefined;
  let baseline: DesignResult | undefined;
  if (plan.levels.length > 0) {
    parley = await runDesign('parley', plan);
    baseline = await runDesign('baseline', plan);
  }

  let failover: FailoverResult | undefined;
  if (wanted('failover')) {
    failover = await runFailover(quick ? 1 : 3);
    writeJson('failover', failover);
  }

  const level = (result: DesignResult | undefined, at: number) => result?.levels[String(at)];
  const connections = (at: number): string => (level(parley, at)?.connections ?? at).toLocaleString('en-US');

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

  summary.parley = parley;
  summary.baseline = baseline;
  summary.floor = floor;
  summary.coldStart = coldStart;
  summary.failover = failover;
  summary.wallSeconds = (Date.now() - started) / 1000;
  (summary.machine as Record<string, unknown>).loadAverageAtEnd = loadavg();
  writeJson('summary', summary);

  printTable(rows);
  process.stdout.write('\ntargets:\n');
  for (const [name, target] of Object.entries(targets)) {
    process.stdout.write(`  ${name}: ${JSON.stringify(target)}\n`);
  }
  process.stdout.write(
    `\nwall time ${((Date.now() - started) / 1000).toFixed(0)} s; results in bench/results/\n`,
  );
};

try {
  await main();
} catch (error) {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
} finally {
  await stopAll();
}
// Sockets of stopped stacks may keep timers alive; the bench is done.
process.exit(process.exitCode ?? 0);
