/**
 * Password generation with node's CSPRNG (`crypto.randomInt`, which is
 * unbiased: it rejects out-of-range draws instead of taking a modulo).
 *
 * A password is drawn uniformly from the allowed characters; when every
 * included character class must appear, drafts missing a class are rejected
 * and drawn again (rejection sampling), so the result is uniform over all
 * passwords that satisfy the policy. Secrets Manager's `GetRandomPassword` is
 * never called: no password travels over the network before it is stored.
 */
import { randomInt } from 'crypto';

export const UPPERCASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';
export const DIGITS = '0123456789';
/** The punctuation set of Secrets Manager's `GetRandomPassword`. */
export const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

export interface PasswordPolicy {
  readonly length: number;
  /** Characters never used (each code point of the string). */
  readonly excludeCharacters: string;
  readonly excludeUppercase: boolean;
  readonly excludeLowercase: boolean;
  readonly excludeNumbers: boolean;
  readonly excludePunctuation: boolean;
  /** At least one character of every class that is included and not emptied by `excludeCharacters`. */
  readonly requireEachIncludedType: boolean;
}

export interface CharacterClasses {
  /** Every allowed character. */
  readonly pool: readonly string[];
  /** The classes a password must each contain at least one character of (empty when not required). */
  readonly required: ReadonlyArray<ReadonlySet<string>>;
}

/** Draws an integer in [0, max): `crypto.randomInt` unless a test substitutes it. */
export type RandomInt = (max: number) => number;

const MAX_REJECTIONS = 10_000;

/** The allowed characters and the required classes of a policy. Throws if nothing is allowed. */
export function characterClasses(policy: PasswordPolicy): CharacterClasses {
  const excluded = new Set(Array.from(policy.excludeCharacters));
  const classes: Array<[string, boolean]> = [
    [UPPERCASE, policy.excludeUppercase],
    [LOWERCASE, policy.excludeLowercase],
    [DIGITS, policy.excludeNumbers],
    [PUNCTUATION, policy.excludePunctuation],
  ];
  const included = classes
    .filter(([, off]) => !off)
    .map(([chars]) => Array.from(chars).filter(c => !excluded.has(c)))
    .filter(chars => chars.length > 0);
  const pool = included.flat();
  if (pool.length === 0) {
    throw new Error('The password policy allows no character at all: every class is excluded or emptied by the excluded characters.');
  }
  return { pool, required: policy.requireEachIncludedType ? included.map(chars => new Set(chars)) : [] };
}

/** Whether `password` could have been generated under `policy` (length, allowed characters, classes). */
export function passwordSatisfiesPolicy(password: string, policy: PasswordPolicy): boolean {
  const { pool, required } = characterClasses(policy);
  const chars = Array.from(password);
  const allowed = new Set(pool);
  return chars.length === policy.length
    && chars.every(c => allowed.has(c))
    && required.every(cls => chars.some(c => cls.has(c)));
}

/** A new random password under `policy`. */
export function generatePassword(policy: PasswordPolicy, random: RandomInt = randomInt): string {
  const { pool, required } = characterClasses(policy);
  if (!Number.isInteger(policy.length) || policy.length < 1) {
    throw new Error(`Password length ${policy.length} is not a positive whole number.`);
  }
  if (required.length > policy.length) {
    throw new Error(`A password of ${policy.length} characters cannot contain one character of each of the ${required.length} required classes.`);
  }
  for (let attempt = 0; attempt < MAX_REJECTIONS; attempt++) {
    const chars: string[] = [];
    for (let i = 0; i < policy.length; i++) {
      chars.push(pool[random(pool.length)]);
    }
    if (required.every(cls => chars.some(c => cls.has(c)))) {
      return chars.join('');
    }
  }
  // Only reachable for pathological policies (a required class of one
  // character in a short password): place one character of each class, fill
  // the rest from the pool, then shuffle (Fisher-Yates).
  const chars = required.map(cls => {
    const members = Array.from(cls);
    return members[random(members.length)];
  });
  while (chars.length < policy.length) {
    chars.push(pool[random(pool.length)]);
  }
  for (let i = chars.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}
