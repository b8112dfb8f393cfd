/** The password generator: length, exclusions, classes, and that draws are uniform. */
import {
  characterClasses, DIGITS, generatePassword, LOWERCASE, passwordSatisfiesPolicy, PasswordPolicy, PUNCTUATION, UPPERCASE,
} from '../../../src/rotation/runtime/password';

const DEFAULT: PasswordPolicy = {
  length: 32,
  excludeCharacters: ' "\'\\/@',
  excludeUppercase: false,
  excludeLowercase: false,
  excludeNumbers: false,
  excludePunctuation: false,
  requireEachIncludedType: true,
};

/** Pearson's chi-square statistic of observed counts against a uniform expectation. */
function chiSquare(counts: Map<string, number>, categories: readonly string[], total: number): number {
  const expected = total / categories.length;
  return categories.reduce((sum, c) => sum + ((counts.get(c) ?? 0) - expected) ** 2 / expected, 0);
}

describe('generatePassword', () => {
  test('has the configured length and only allowed characters', () => {
    for (const length of [8, 32, 100, 4096]) {
      const password = generatePassword({ ...DEFAULT, length });
      expect(Array.from(password)).toHaveLength(length);
      expect(password).toMatch(/^[A-Za-z0-9!#$%&()*+,\-.:;<=>?[\]^_`{|}~]+$/);
    }
  });

  test('never uses an excluded character (default: space " \' \\ / @)', () => {
    const all = Array.from({ length: 300 }, () => generatePassword(DEFAULT)).join('');
    for (const c of [' ', '"', "'", '\\', '/', '@']) {
      expect(all).not.toContain(c);
    }
    const custom = Array.from({ length: 100 }, () => generatePassword({ ...DEFAULT, excludeCharacters: 'aeiouAEIOU0!' })).join('');
    expect(custom).not.toMatch(/[aeiouAEIOU0!]/);
  });

  test('contains at least one character of each included class', () => {
    for (let i = 0; i < 500; i++) {
      const p = generatePassword({ ...DEFAULT, length: 8 });
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[0-9]/);
      expect(p).toMatch(/[^A-Za-z0-9]/);
    }
  });

  test('a class that is switched off or emptied by exclusions is neither used nor required', () => {
    for (let i = 0; i < 200; i++) {
      const noPunctuation = generatePassword({ ...DEFAULT, excludePunctuation: true });
      expect(noPunctuation).toMatch(/^[A-Za-z0-9]{32}$/);
      const digitsEmptied = generatePassword({ ...DEFAULT, length: 12, excludeCharacters: DIGITS });
      expect(digitsEmptied).not.toMatch(/[0-9]/);
      expect(digitsEmptied).toMatch(/[^A-Za-z]/);
      const onlyDigits = generatePassword({ ...DEFAULT, excludeUppercase: true, excludeLowercase: true, excludePunctuation: true });
      expect(onlyDigits).toMatch(/^[0-9]{32}$/);
    }
  });

  test('without the class requirement, any allowed character sequence can come out', () => {
    // A fake source that always draws index 0: only possible when classes are not required.
    const zero = () => 0;
    expect(generatePassword({ ...DEFAULT, requireEachIncludedType: false, length: 10 }, zero)).toBe('AAAAAAAAAA');
  });

  test('rejects drafts missing a class and draws again (rejection sampling), falling back for pathological policies', () => {
    // Draw 0 (an uppercase letter) for the whole first draft, then the real generator.
    let calls = 0;
    const rigged = (max: number) => (calls++ < 32 ? 0 : Math.floor(Math.random() * max));
    const p = generatePassword(DEFAULT, rigged);
    expect(calls).toBeGreaterThanOrEqual(64); // the first draft (all 'A') was rejected
    expect(passwordSatisfiesPolicy(p, DEFAULT)).toBe(true);
    // A source that never produces a valid draft: the fallback still satisfies the policy.
    const stuck = () => 0;
    const fallback = generatePassword({ ...DEFAULT, length: 4 }, stuck);
    expect(passwordSatisfiesPolicy(fallback, { ...DEFAULT, length: 4 })).toBe(true);
  });

  test('refuses impossible policies', () => {
    expect(() => generatePassword({ ...DEFAULT, length: 3 })).toThrow('cannot contain one character of each of the 4 required classes');
    expect(() => generatePassword({ ...DEFAULT, excludeUppercase: true, excludeLowercase: true, excludeNumbers: true, excludePunctuation: true }))
      .toThrow('allows no character at all');
    expect(() => generatePassword({ ...DEFAULT, excludeCharacters: UPPERCASE + LOWERCASE + DIGITS + PUNCTUATION })).toThrow('allows no character at all');
  });

  test('characters are uniformly distributed, at every position (chi-square)', () => {
    const policy = { ...DEFAULT, requireEachIncludedType: false };
    const { pool } = characterClasses(policy);
    expect(pool).toHaveLength(26 + 26 + 10 + 32 - 5);
    const n = 3000;
    const overall = new Map<string, number>();
    const first = new Map<string, number>();
    const last = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const p = generatePassword(policy);
      for (const c of p) overall.set(c, (overall.get(c) ?? 0) + 1);
      first.set(p[0], (first.get(p[0]) ?? 0) + 1);
      last.set(p[31], (last.get(p[31]) ?? 0) + 1);
    }
    // 88 degrees of freedom: mean 88, sd 13.3; 160 is beyond p = 1e-6.
    expect(chiSquare(overall, pool, n * 32)).toBeLessThan(160);
    expect(chiSquare(first, pool, n)).toBeLessThan(160);
    expect(chiSquare(last, pool, n)).toBeLessThan(160);
    expect(new Set(Array.from({ length: 1000 }, () => generatePassword(DEFAULT))).size).toBe(1000);
  });
});

describe('passwordSatisfiesPolicy', () => {
  test('checks length, allowed characters and classes', () => {
    expect(passwordSatisfiesPolicy('Aa1!Aa1!', { ...DEFAULT, length: 8 })).toBe(true);
    expect(passwordSatisfiesPolicy('Aa1!Aa1!', DEFAULT)).toBe(false); // length
    expect(passwordSatisfiesPolicy('Aa1@Aa1!', { ...DEFAULT, length: 8 })).toBe(false); // excluded @
    expect(passwordSatisfiesPolicy('Aa11Aa11', { ...DEFAULT, length: 8 })).toBe(false); // no punctuation
    expect(passwordSatisfiesPolicy('Aa1üAa1!', { ...DEFAULT, length: 8 })).toBe(false); // not in any class
  });
});
