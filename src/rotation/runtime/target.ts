/**
 * The database a secret is rotated against, as fixed at deploy time.
 *
 * The construct (`ManagedSecret.addRotation`) tags the secret with the
 * database it was created for: `cdk-kms-secrets:rotation:engine`, `:host`,
 * `:port`, `:username`, and `:dbname` / `:masterarn` when set. Those tags are
 * the only place the function takes a host, port, database, user or master
 * secret from: the values in the rotated secret are claims, checked against
 * them, and never used to decide where a credential goes.
 *
 * A principal that may only write the secret (`PutSecretValue`, what
 * `grantWrite` gives) cannot change tags (`secretsmanager:TagResource`), so it
 * cannot move the rotation to another server, database or user.
 */

export const TAG_PREFIX = 'cdk-kms-secrets:rotation:';
export const TAGS = {
  engine: `${TAG_PREFIX}engine`,
  host: `${TAG_PREFIX}host`,
  port: `${TAG_PREFIX}port`,
  username: `${TAG_PREFIX}username`,
  dbname: `${TAG_PREFIX}dbname`,
  masterarn: `${TAG_PREFIX}masterarn`,
  userHost: `${TAG_PREFIX}userhost`,
} as const;

export interface PinnedDatabase {
  readonly engine: string;
  readonly host: string;
  readonly port: number;
  /** The user of the first version (`username`); alternating users also rotate `<username>_clone`. */
  readonly username: string;
  readonly dbname?: string;
  readonly masterArn?: string;
  /** MySQL/MariaDB account host part (`'user'@'<userHost>'`); `%` when absent. */
  readonly userHost?: string;
}

export interface Tag {
  readonly Key?: string;
  readonly Value?: string;
}

/** The pinned database from the secret's tags; throws naming every missing or invalid tag. */
export function pinnedDatabase(arn: string, tags: readonly Tag[] | undefined, alternating: boolean): PinnedDatabase {
  const values = new Map<string, string>();
  for (const tag of tags ?? []) {
    if (tag.Key?.startsWith(TAG_PREFIX) && tag.Value !== undefined) values.set(tag.Key, tag.Value);
  }
  const problems: string[] = [];
  const required = (key: string) => {
    const value = values.get(key);
    if (value === undefined || value.trim() === '') {
      problems.push(`no tag ${key}`);
      return '';
    }
    return value;
  };
  const engine = required(TAGS.engine).toLowerCase();
  const host = required(TAGS.host);
  const portText = required(TAGS.port);
  const username = required(TAGS.username);
  const port = Number(portText);
  if (portText !== '' && (!/^\d+$/.test(portText) || port < 1 || port > 65535)) {
    problems.push(`tag ${TAGS.port} is "${portText}", not a TCP port`);
  }
  const masterArn = values.get(TAGS.masterarn);
  if (alternating && (masterArn === undefined || masterArn === '')) {
    problems.push(`no tag ${TAGS.masterarn} (the alternating-users strategy logs in only as the master secret fixed at deploy time)`);
  }
  if (problems.length > 0) {
    throw new Error(
      `Secret ${arn} does not say which database it belongs to (${problems.join('; ')}). The rotation function sends credentials ` +
      'only to the database fixed at deploy time, never to the host or port a secret value names: rotate the secret with ' +
      `ManagedSecret.addRotation (which tags it), or tag it with ${Object.values(TAGS).join(', ')} (dbname, masterarn and userhost when used).`);
  }
  const dbname = values.get(TAGS.dbname);
  const userHost = values.get(TAGS.userHost);
  return {
    engine,
    host,
    port,
    username,
    ...(dbname ? { dbname } : {}),
    ...(masterArn ? { masterArn } : {}),
    ...(userHost ? { userHost } : {}),
  };
}
