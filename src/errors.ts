/**
 * Errors for bad input, raised at synth time. Each names the property that is
 * wrong and says how to fix it, in one consistent shape:
 *
 *   [cdk-kms-secrets] CustomerManagedKey.rotationPeriod: 30 days is outside 90-2560 days. Fix: ...
 *
 * Internal: not exported from the package index.
 */
export function propError(owner: string, property: string, problem: string, fix: string): Error {
  const where = property ? `${owner}.${property}` : owner;
  return new Error(`[cdk-kms-secrets] ${where}: ${problem} Fix: ${fix}`);
}
