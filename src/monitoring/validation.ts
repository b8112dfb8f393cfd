/**
 * Synth-time checks of `KeysAndSecretsMonitoringProps`. Every error names the
 * property and the fix (`propError`).
 *
 * Internal module: not exported from the package index.
 */
import { Duration, IResource, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IConstruct } from 'constructs';
import { isAlias } from './scoping';
import { propError } from '../errors';

export const OWNER = 'KeysAndSecretsMonitoring';

const EMAIL = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[A-Za-z]{2,}$/;

export function validateEmails(emails: string[]): void {
  const seen = new Set<string>();
  for (const email of emails) {
    if (Token.isUnresolved(email)) continue;
    if (!EMAIL.test(email)) {
      throw propError(OWNER, 'emails', `'${email}' is not an email address.`, 'Give addresses such as security-team@example.com.');
    }
    const normalized = email.toLowerCase();
    if (seen.has(normalized)) {
      throw propError(OWNER, 'emails', `'${email}' is listed twice; SNS would create one subscription and CloudFormation would fail on the second.`, 'List each address once.');
    }
    seen.add(normalized);
  }
}

export function validateHttpsEndpoints(urls: string[]): void {
  const seen = new Set<string>();
  for (const url of urls) {
    if (Token.isUnresolved(url)) continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.protocol !== 'https:' || parsed.hostname === '') {
      throw propError(OWNER, 'httpsEndpoints', `'${url}' is not an https:// URL: alerts about keys and secrets must not travel in clear text.`, 'Use an https:// endpoint (for example https://hooks.example.com/alerts).');
    }
    if (parsed.username !== '' || parsed.password !== '') {
      // Never echo the credentials themselves.
      throw propError(OWNER, 'httpsEndpoints', `the endpoint on ${parsed.hostname} carries credentials (user:password@), which would be stored in the template and the SNS subscription in clear text.`, 'Authenticate the endpoint another way (a token in a header your endpoint checks, or a signed SNS message), and pass the URL without user:password@.');
    }
    if (seen.has(parsed.href)) {
      throw propError(OWNER, 'httpsEndpoints', `'${url}' is listed twice.`, 'List each endpoint once.');
    }
    seen.add(parsed.href);
  }
}

export function validateRunbookUrl(url: string): void {
  if (Token.isUnresolved(url)) return;
  if (!/^https:\/\/[^\s]+$/.test(url)) {
    throw propError(OWNER, 'runbookUrl', `'${url}' is not an https:// URL.`, 'Give the https:// address of your copy of docs/monitoring.md (without #anchor).');
  }
}

export function validateNumber(property: string, value: number, min: number, max: number, exclusiveMin: boolean, fix: string): void {
  const low = exclusiveMin ? value <= min : value < min;
  if (!Number.isFinite(value) || low || value > max) {
    throw propError(OWNER, property, `${value} is outside ${exclusiveMin ? '(' : '['}${min}, ${max}].`, fix);
  }
}

export function validateDays(property: string, value: Duration, min: number, max: number): void {
  const days = value.toDays({ integral: false });
  if (days < min || days > max) {
    throw propError(OWNER, property, `${value.toHumanString()} is outside ${min} to ${max} days.`, `Use a Duration between Duration.days(${min}) and Duration.days(${max}).`);
  }
}

/** Errors for an explicit list that names the same resource twice. */
export function assertNoDuplicates<T extends IConstruct>(scope: IConstruct, property: string, items: T[], arnOf: (x: T) => string): void {
  const stack = Stack.of(scope);
  const seen = new Map<string, string>();
  for (const item of items) {
    const key = JSON.stringify(stack.resolve(arnOf(item)));
    const first = seen.get(key);
    if (first !== undefined) {
      throw propError(OWNER, property, `lists ${item.node.path} twice${first !== item.node.path ? ` (also as ${first})` : ''}.`, `List each one once (watchScope finds its ${property} itself).`);
    }
    seen.set(key, item.node.path);
  }
}

export function assertKeysAreKeys(keys: kms.IKey[]): void {
  for (const key of keys) {
    if (isAlias(key)) {
      throw propError(OWNER, 'keys', `${key.node.path} is an alias, not a key: KMS events name the key ARN, so an alias would match nothing.`, 'Pass the key itself (kms.Key.fromKeyArn with the key ARN, or the CustomerManagedKey).');
    }
  }
}

/** EventBridge sees the events of its own region only. */
export function assertSameRegion(scope: IConstruct, property: string, resources: IResource[]): void {
  const region = Stack.of(scope).region;
  for (const r of resources) {
    if (Token.compareStrings(r.env.region, region) === TokenComparison.DIFFERENT) {
      throw propError(OWNER, property, `${r.node.path} is in ${r.env.region}, but this monitoring is in ${region}: EventBridge rules and alarms only see their own region.`, `Create a KeysAndSecretsMonitoring in a stack of ${r.env.region} for it.`);
    }
  }
}
