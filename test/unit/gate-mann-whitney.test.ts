import { describe, expect, test } from 'vitest';
import { mannWhitneyGreater, standardNormalUpperTail } from '../../src/gate/mann-whitney.js';

/**
 * The reference: relabel the pooled values in every possible way and count how
 * often b's rank-free statistic (pairs where b wins, ties one half) is at least
 * the observed one. Feasible only for tiny samples, which is the point: it
 * shares no code or idea with the dynamic programme under test.
 */
function permutationPGreater(a: readonly number[], b: readonly number[]): number {
  const pooled = [...a, ...b];
  const statistic = (first: readonly number[], second: readonly number[]): number => {
    let wins = 0;
    for (const x of first) for (const y of second) wins += y > x ? 1 : y === x ? 0.5 : 0;
    return wins;
  };
  const observed = statistic(a, b);
  let atLeast = 0;
  let all = 0;
  const chosen: number[] = [];
  const visit = (start: number): void => {
    if (chosen.length === b.length) {
      const second = chosen.map((index) => pooled[index]!);
      const first = pooled.filter((_, index) => !chosen.includes(index));
      all += 1;
      if (statistic(first, second) >= observed - 1e-9) atLeast += 1;
      return;
    }
    for (let index = start; index < pooled.length; index += 1) {
      chosen.push(index);
      visit(index + 1);
      chosen.pop();
    }
  };
  visit(0);
  return atLeast / all;
}

describe('mannWhitneyGreater', () => {
  test('textbook case: three values all below three others', () => {
    const result = mannWhitneyGreater([1, 2, 3], [4, 5, 6]);
    expect(result.u).toBe(9);
    expect(result.effect).toBe(1);
    // Only 1 of the C(6,3) = 20 splits puts b's three values on top.
    expect(result.pGreater).toBeCloseTo(1 / 20, 12);
    expect(result.method).toBe('exact');
  });

  test("R's wilcox.test documentation example: W = 35, p = 0.1272", () => {
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const y = [1.15, 0.88, 0.9, 0.74, 1.21];
    // wilcox.test(x, y, alternative = "greater") tests x > y, so x is our b.
    const result = mannWhitneyGreater(y, x);
    expect(result.u).toBe(35);
    expect(result.pGreater).toBeCloseTo(0.1272, 4);
    expect(result.pGreater).toBeCloseTo(permutationPGreater(y, x), 12);
  });

  test('the exact p-value equals a brute-force permutation test, without ties', () => {
    const cases: [number[], number[]][] = [
      [
        [12, 15, 11],
        [14, 18, 20, 16],
      ],
      [
        [3, 9, 1, 7],
        [2, 8, 6, 4, 5],
      ],
      [[30, 10, 20], [5]],
      [[1], [2]],
      [
        [5, 6, 7, 8, 9, 10],
        [1, 2, 3, 4],
      ],
    ];
    for (const [a, b] of cases) {
      expect(mannWhitneyGreater(a, b).pGreater).toBeCloseTo(permutationPGreater(a, b), 12);
    }
  });

  test('the exact p-value with ties equals the permutation test given those ties', () => {
    const cases: [number[], number[]][] = [
      [
        [20, 20, 21, 22],
        [21, 21, 23, 20],
      ],
      [
        [5, 5, 5],
        [5, 5, 6],
      ],
      [
        [10, 11, 11, 12, 12],
        [11, 12, 12, 13],
      ],
      [
        [1, 1, 2, 2, 3, 3],
        [2, 3, 3, 4],
      ],
    ];
    for (const [a, b] of cases) {
      const result = mannWhitneyGreater(a, b);
      expect(result.method).toBe('exact');
      expect(result.pGreater).toBeCloseTo(permutationPGreater(a, b), 12);
    }
  });

  test('u and the effect size count ties as one half', () => {
    // Pairs (a, b): (1,2) b wins, (1,3) b wins, (2,2) tie, (2,3) b wins.
    const result = mannWhitneyGreater([1, 2], [2, 3]);
    expect(result.u).toBe(3.5);
    expect(result.effect).toBe(3.5 / 4);
    expect(result.n1).toBe(2);
    expect(result.n2).toBe(2);
  });

  test('a smaller b gives a large p-value and an effect below one half', () => {
    const result = mannWhitneyGreater([40, 41, 42, 43, 44], [10, 11, 12, 13, 14]);
    expect(result.u).toBe(0);
    expect(result.effect).toBe(0);
    expect(result.pGreater).toBe(1);
  });

  test('the normal approximation agrees with the exact count at 20 against 20', () => {
    const a = Array.from({ length: 20 }, (_, index) => index * 3);
    // Interleaved, shifted up a little: a p-value near the interesting range.
    const b = Array.from({ length: 20 }, (_, index) => index * 3 + 10);
    const exact = mannWhitneyGreater(a, b, { method: 'exact' });
    const normal = mannWhitneyGreater(a, b, { method: 'normal' });
    expect(exact.pGreater).toBeGreaterThan(0.005);
    expect(exact.pGreater).toBeLessThan(0.2);
    expect(Math.abs(normal.pGreater - exact.pGreater)).toBeLessThan(0.005);
  });

  test('the tie-corrected normal approximation agrees with the exact count on ms-rounded data', () => {
    // Whole milliseconds: many ties, as the engine's durations have.
    const a = [20, 21, 20, 22, 21, 20, 23, 21, 22, 20, 21, 22, 24, 20, 21];
    const b = [21, 22, 21, 23, 22, 22, 24, 21, 23, 22, 21, 25, 22, 23, 21];
    const exact = mannWhitneyGreater(a, b, { method: 'exact' });
    const normal = mannWhitneyGreater(a, b, { method: 'normal' });
    expect(exact.pGreater).toBeLessThan(0.05);
    expect(Math.abs(normal.pGreater - exact.pGreater)).toBeLessThan(0.005);
  });

  test('larger samples switch to the normal approximation', () => {
    const a = Array.from({ length: 30 }, (_, index) => index);
    const b = Array.from({ length: 30 }, (_, index) => index + 30);
    const result = mannWhitneyGreater(a, b);
    expect(result.method).toBe('normal');
    expect(result.u).toBe(900);
    // z = (900 − 450 − 0.5) / sqrt(900 × 61 / 12) ≈ 6.646.
    expect(result.pGreater).toBeGreaterThan(0);
    expect(result.pGreater).toBeLessThan(1e-9);
  });

  test('every value identical: p is 1 and nothing is NaN, by either method', () => {
    for (const method of ['exact', 'normal'] as const) {
      const result = mannWhitneyGreater([7, 7, 7, 7, 7], [7, 7, 7, 7, 7, 7], { method });
      expect(result.pGreater).toBe(1);
      expect(result.u).toBe(15);
      expect(result.effect).toBe(0.5);
    }
  });

  test('an empty sample is no evidence', () => {
    expect(mannWhitneyGreater([], [1, 2, 3])).toMatchObject({ pGreater: 1, effect: 0.5, n1: 0, n2: 3 });
    expect(mannWhitneyGreater([1, 2, 3], [])).toMatchObject({ pGreater: 1, effect: 0.5, n1: 3, n2: 0 });
  });

  test('a value that is not a finite number is refused, naming where it is', () => {
    expect(() => mannWhitneyGreater([1, Number.NaN], [2])).toThrow(/sample a\[1\] is NaN/);
    expect(() => mannWhitneyGreater([1], [Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});

describe('standardNormalUpperTail', () => {
  test('matches tabulated values', () => {
    expect(standardNormalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(standardNormalUpperTail(1.959964)).toBeCloseTo(0.025, 7);
    expect(standardNormalUpperTail(1.644854)).toBeCloseTo(0.05, 7);
    expect(standardNormalUpperTail(-1)).toBeCloseTo(0.841344746, 7);
    expect(standardNormalUpperTail(3)).toBeCloseTo(0.001349898, 8);
  });
});
