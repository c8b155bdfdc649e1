import { describe, expect, it } from 'vitest';
import { figure, fmt, fmtFigure, median, percentile, ratio } from '../../../bench/stats.js';

describe('Bench statistics', () => {
  it('takes percentiles by nearest rank, whatever the order of the values', () => {
    const values = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99)]).toEqual([50, 100, 100]);
    expect([percentile(values, 0), percentile(values, 10), percentile(values, 11)]).toEqual([10, 10, 20]);
    expect(percentile([], 50)).toBeNaN();
  });

  it('takes the middle value as the median, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('sums up runs as median, min and max, leaving out runs that are not finite', () => {
    expect(figure([5, Number.NaN, 1, 3, Number.POSITIVE_INFINITY])).toEqual({
      median: 3,
      min: 1,
      max: 5,
      runs: [5, Number.NaN, 1, 3, Number.POSITIVE_INFINITY],
    });
    expect(figure([Number.NaN])).toMatchObject({ median: Number.NaN, min: Number.NaN, max: Number.NaN });
  });

  it('gives no ratio against zero or a missing figure', () => {
    expect(ratio(10, 4)).toBe(2.5);
    expect(ratio(10, 0)).toBeNaN();
    expect(ratio(10, Number.NaN)).toBeNaN();
  });

  it('formats table cells with 3 significant digits and whole thousands', () => {
    expect([fmt(0.123456), fmt(45.678), fmt(1234.5), fmt(Number.NaN)]).toEqual([
      '0.123',
      '45.7',
      '1,235',
      'n/a',
    ]);
    expect(fmtFigure({ median: 45.5, min: 35.4, max: 52, runs: [] }, ' ms')).toBe('45.5 ms (35.4-52)');
  });
});
