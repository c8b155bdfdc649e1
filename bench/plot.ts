/**
 * The scaling plot: an SVG chart (two panels: latency and throughput against open connections, one
 * line per design, whiskers from min to max over the runs, logarithmic y axes) screenshot to PNG by
 * Debian's Chromium through playwright-core, which the project already uses for its browser test.
 * No native canvas dependency.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Figure } from './stats.js';

/** Debian's chromium package. */
const CHROMIUM = '/usr/bin/chromium';

/** One line of a panel. */
export interface Series {
  name: string;
  color: string;
  points: { x: number; y: Figure }[];
}

export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
}

const WIDTH = 520;
const HEIGHT = 380;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 55 };

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

const panelSvg = (panel: Panel, offsetX: number): string => {
  const values = panel.series.flatMap((s) => s.points.flatMap((p) => [p.y.min, p.y.max, p.y.median]));
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  const xs = panel.series.flatMap((s) => s.points.map((p) => p.x));
  const lo = Math.floor(Math.log10(Math.min(...positive, 1)));
  const hi = Math.ceil(Math.log10(Math.max(...positive, 10)));
  const xMax = Math.max(...xs, 1);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number): number => offsetX + MARGIN.left + (v / xMax) * plotW;
  const y = (v: number): number =>
    MARGIN.top + plotH - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / Math.max(1, hi - lo)) * plotH;
  const parts: string[] = [];
  parts.push(
    `<text x="${offsetX + WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(panel.title)}</text>`,
  );
  for (let e = lo; e <= hi; e++) {
    const yy = y(10 ** e);
    parts.push(
      `<line x1="${x(0)}" x2="${x(xMax)}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`,
      `<text x="${x(0) - 8}" y="${yy + 4}" text-anchor="end" font-size="12">${(10 ** e).toLocaleString('en-US')}</text>`,
    );
  }
  for (const value of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(
      `<line x1="${x(value)}" x2="${x(value)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${x(value)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle" font-size="12">${value.toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(
    `<text x="${offsetX + MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle" font-size="13">open connections</text>`,
    `<text transform="translate(${offsetX + 16},${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="13">${esc(panel.yLabel)}</text>`,
    `<rect x="${x(0)}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
  );
  panel.series.forEach((series, index) => {
    const points = series.points.filter((p) => Number.isFinite(p.y.median) && p.y.median > 0);
    parts.push(
      `<polyline fill="none" stroke="${series.color}" stroke-width="2.5" points="${points.map((p) => `${x(p.x)},${y(p.y.median)}`).join(' ')}"/>`,
    );
    for (const p of points) {
      parts.push(
        `<line x1="${x(p.x)}" x2="${x(p.x)}" y1="${y(p.y.min)}" y2="${y(p.y.max)}" stroke="${series.color}" stroke-width="1.5"/>`,
        `<circle cx="${x(p.x)}" cy="${y(p.y.median)}" r="4" fill="${series.color}"/>`,
      );
    }
    const ly = MARGIN.top + 16 + index * 18;
    parts.push(
      `<rect x="${x(0) + 10}" y="${ly - 9}" width="14" height="4" fill="${series.color}"/>`,
      `<text x="${x(0) + 30}" y="${ly - 3}" font-size="12">${esc(series.name)}</text>`,
    );
  });
  return parts.join('\n');
};

/** The chart as an SVG document. */
export const scalingSvg = (panels: Panel[], caption: string): string => {
  const width = WIDTH * panels.length;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${HEIGHT + 30}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panels.map((panel, i) => panelSvg(panel, i * WIDTH)).join('\n')}
<text x="${width / 2}" y="${HEIGHT + 18}" text-anchor="middle" font-size="12" fill="#555">${esc(caption)}</text>
</svg>`;
};

/** Writes `svg` as a PNG at `path` (and the SVG beside it); false when no Chromium is installed. */
export const writePng = async (svg: string, path: string): Promise<boolean> => {
  writeFileSync(path.replace(/\.png$/, '.svg'), svg);
  if (!existsSync(CHROMIUM)) return false;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 100, height: 100 } });
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path });
    return true;
  } finally {
    await browser.close();
  }
};
