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
 *
 * A secret whose host is only known after deployment (an RDS secret target
 * attachment writes it; a tag naming the instance's endpoint would be a
 * dependency cycle) has its host and port pinned in the rotation function's
 * own configuration instead (`ROTATION_PINNED_ENDPOINTS`, keyed by the
 * secret's ARN) and is tagged `cdk-kms-secrets:rotation:endpoint` =
 * `rotation-function`. That entry takes the place of the host and port tags.
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
  endpoint: `${TAG_PREFIX}endpoint`,
} as const;

/** Value of the `endpoint` tag of a secret whose host and port are pinned in the function's configuration. */
export const ENDPOINT_IN_FUNCTION = 'rotation-function';

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

/**
 * The pinned database from the secret's tags and, when the function's
 * configuration pins this secret's endpoint, that host and port; throws naming
 * every missing or invalid tag.
 */
export function pinnedDatabase(
  arn: string, tags: readonly Tag[] | undefined, alternating: boolean, endpoint?: { readonly host: string; readonly port: number },
): PinnedDatabase {
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
  let host: string;
  let port: number;
  if (endpoint) {
    // The function's configuration wins over any host/port tag: changing it needs lambda:UpdateFunctionConfiguration.
    ({ host, port } = endpoint);
  } else if (values.get(TAGS.endpoint) === ENDPOINT_IN_FUNCTION) {
    problems.push(`tag ${TAGS.endpoint} says its host and port are pinned in the rotation function's configuration, but this function's ` +
      'ROTATION_PINNED_ENDPOINTS has no entry for it (is the secret rotated by another function than the one it was deployed with?)');
    host = '';
    port = 0;
  } else {
    host = required(TAGS.host);
    const portText = required(TAGS.port);
    port = Number(portText);
    if (portText !== '' && (!/^\d+$/.test(portText) || port < 1 || port > 65535)) {
      problems.push(`tag ${TAGS.port} is "${portText}", not a TCP port`);
    }
  }
  const username = required(TAGS.username);
  const masterArn = values.get(TAGS.masterarn);
  if (alternating && (masterArn === undefined || masterArn === '')) {
    problems.push(`no tag ${TAGS.masterarn} (the alternating-users strategy logs in only as the master secret fixed at deploy time)`);
  }
  if (problems.length > 0) {
    throw new Error(
      `Secret ${arn} does not say which database it belongs to (${problems.join('; ')}). The rotation function sends credentials ` +
      'only to the database fixed at deploy time, never to the host or port a secret value names: rotate the secret with ' +
      `ManagedSecret.addRotation (which tags it), or tag it with ${Object.values(TAGS).filter(t => t !== TAGS.endpoint).join(', ')} (dbname, masterarn and userhost when used).`);
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
