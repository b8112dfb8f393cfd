/**
 * Finds what `KeysAndSecretsMonitoring` watches in a `watchScope`: every
 * `CustomerManagedKey`, every `ManagedSecret` (with its key and its rotation
 * function) and every `RotationFunction` below it. Discovery runs when the
 * monitoring construct is created; a validation then fails the synthesis if
 * the scope gained something afterwards that is not watched.
 *
 * Internal module: not exported from the package index.
 */
import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IConstruct } from 'constructs';
import { CustomerManagedKey } from '../keys/customer-managed-key';
import { RotationFunction } from '../rotation/rotation-function';
import { ManagedSecret } from '../secrets/managed-secret';

export interface Watched {
  readonly keys: kms.IKey[];
  readonly secrets: secretsmanager.ISecret[];
  readonly functions: lambda.IFunction[];
}

function isWithin(c: IConstruct, ancestor: IConstruct): boolean {
  return c.node.scopes.includes(ancestor);
}

/** Everything worth watching in `scope`, except what lies inside `self`. */
export function discover(scope: IConstruct, self: IConstruct): Watched {
  const keys: kms.IKey[] = [];
  const secrets: secretsmanager.ISecret[] = [];
  const functions: lambda.IFunction[] = [];
  for (const c of scope.node.findAll()) {
    if (isWithin(c, self)) continue;
    if (CustomerManagedKey.isCustomerManagedKey(c)) {
      keys.push(c);
    } else if (c instanceof ManagedSecret) {
      secrets.push(c);
    } else if (c instanceof RotationFunction) {
      functions.push(c.function);
    } else if (isRdsManagedMasterSecret(c)) {
      // The secret RDS creates for an RDS-managed master user (ManagedDatabase imports it with its key).
      secrets.push(c as unknown as secretsmanager.ISecret);
    }
  }
  return { keys, secrets, functions };
}

/**
 * Adds what watched secrets bring with them: the key of a `ManagedSecret`
 * and its rotation function. Keeps the first occurrence of each construct.
 */
export function withDependents(w: Watched): Watched {
  const keys = [...w.keys];
  const functions = [...w.functions];
  for (const s of w.secrets) {
    if (s instanceof ManagedSecret) {
      keys.push(s.key);
      if (s.rotatedBy) functions.push(s.rotatedBy.function);
    }
  }
  return { keys: unique(keys), secrets: unique(w.secrets), functions: unique(functions) };
}

/** Whether a construct is the RDS-managed master secret a ManagedDatabase imports (marked by it; no import of databases here). */
function isRdsManagedMasterSecret(c: IConstruct): boolean {
  return (c as unknown as Record<symbol, unknown>)[Symbol.for('cdk-kms-secrets.RdsManagedMasterSecret')] === true;
}

export function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/**
 * The paths of what `scope` holds now that `watched` does not (compared by
 * resolved ARN, so an imported reference to the same resource counts).
 */
export function unwatched(scope: IConstruct, self: IConstruct, watched: Watched): string[] {
  const stack = Stack.of(self);
  const id = (arn: string) => JSON.stringify(stack.resolve(arn));
  const known = new Set([
    ...watched.keys.map(k => id(k.keyArn)),
    ...watched.secrets.map(s => id(s.secretArn)),
    ...watched.functions.map(f => id(f.functionArn)),
  ]);
  const now = withDependents(discover(scope, self));
  return [
    ...now.keys.filter(k => !known.has(id(k.keyArn))),
    ...now.secrets.filter(s => !known.has(id(s.secretArn))),
    ...now.functions.filter(f => !known.has(id(f.functionArn))),
  ].map(c => c.node.path);
}
