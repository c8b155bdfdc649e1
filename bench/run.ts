/**
 * `npm run bench [-- --quick] [-- --only <section>]`: measures Parley next to the scan-and-broadcast
 * baseline (and a bare `ws` broadcast server, the floor) on local stacks it starts itself on free
 * 127.0.0.1 ports, prints one table, and writes `bench/results/<section>.json`,
 * `bench/results/summary.json` and `bench/results/scaling.png`.
 *
 * Sections: latency, fanout, cost, coldstart, failover, scaling. Every figure is the median of
 * several runs with their min and max. What a run measures is `plan.ts`; the table, `report.ts`.
 */
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { type ColdStartResult, runColdStart } from './coldstart.js';
import { type DesignResult, runDesign } from './design-run.js';
import { type FailoverResult, runFailover } from './failover.js';
import { type FloorResult, runFloor } from './floor.js';
import { note, RESULTS_DIR, stopAll } from './harness.js';
import { planFor, readSettings } from './plan.js';
import { printTable, reportRows, writeJson } from './report.js';

const settings = readSettings();
const { quick, only, wanted } = settings;

const main = async (): Promise<void> => {
  const started = Date.now();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const plan = planFor(settings);
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
      runs: settings.runs,
      latencyMessages: quick ? 20 : 100,
      roomSizes: settings.roomSizes,
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

  const rows = await reportRows(settings, { parley, baseline, floor, coldStart, failover }, targets);

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
