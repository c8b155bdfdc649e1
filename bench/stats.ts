/** Small statistics for the benchmarks: percentiles and the median/min/max of repeated runs. */

/** The `p`-th percentile (0-100) of `values`, nearest rank; `NaN` when empty. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
};

/** A figure measured over several runs. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** The median: the middle value, or the mean of the two middle values; `NaN` when empty. */
export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** The median, min and max of the runs of one figure; runs that are not finite numbers are left out. */
export const figure = (runs: readonly number[]): Figure => {
  const finite = runs.filter((value) => Number.isFinite(value));
  return {
    median: median(finite),
    min: finite.length > 0 ? Math.min(...finite) : Number.NaN,
    max: finite.length > 0 ? Math.max(...finite) : Number.NaN,
    runs: [...runs],
  };
};

/** `a / b`, or `NaN` when `b` is 0 or not a number. */
export const ratio = (a: number, b: number): number => (Number.isFinite(b) && b !== 0 ? a / b : Number.NaN);

/** A number for a table cell: 3 significant digits, thousands kept whole. */
export const fmt = (value: number, digits = 3): string => {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
};

/** `median (min-max)` of a figure. */
export const fmtFigure = (f: Figure, unit = ''): string =>
  `${fmt(f.median)}${unit} (${fmt(f.min)}-${fmt(f.max)})`;
