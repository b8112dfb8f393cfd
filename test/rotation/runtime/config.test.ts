/** Configuration of the rotation function from its environment. */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ConfigError, DEFAULT_EXCLUDE_CHARACTERS, loadConfig } from '../../../src/rotation/runtime/config';

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotation-config-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');

  test('defaults: 32 characters without space " \' \\ / @, every class, TLS required with the system trust store, 5 s connect timeout', () => {
    const config = loadConfig({ ROTATION_STRATEGY: 'single-user' });
    expect(config).toEqual({
      strategy: 'single-user',
      password: {
        length: 32,
        excludeCharacters: ' "\'\\/@',
        excludeUppercase: false,
        excludeLowercase: false,
        excludeNumbers: false,
        excludePunctuation: false,
        requireEachIncludedType: true,
      },
      tls: { required: true, ca: undefined, caFile: undefined },
      connectTimeoutMs: 5000,
      statementTimeoutMs: 15000,
      pinnedEndpoints: new Map(),
    });
    expect(DEFAULT_EXCLUDE_CHARACTERS).toBe(' "\'\\/@');
  });

  test('reads every setting', () => {
    const config = loadConfig({
      ROTATION_STRATEGY: 'alternating-users',
      ROTATION_PASSWORD_LENGTH: '64',
      ROTATION_EXCLUDE_CHARACTERS: '',
      ROTATION_EXCLUDE_PUNCTUATION: 'TRUE',
      ROTATION_REQUIRE_EACH_INCLUDED_TYPE: 'false',
      ROTATION_REQUIRE_TLS: 'false',
      ROTATION_TLS_CA_FILE: caFile,
      ROTATION_CONNECT_TIMEOUT_MS: '2500',
    });
    expect(config.strategy).toBe('alternating-users');
    expect(config.password).toMatchObject({ length: 64, excludeCharacters: '', excludePunctuation: true, requireEachIncludedType: false });
    expect(config.tls).toEqual({ required: false, caFile, ca: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(config.connectTimeoutMs).toBe(2500);
  });

  test('ROTATION_PINNED_ENDPOINTS: secret ARN -> host and port', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf';
    const config = loadConfig({
      ROTATION_STRATEGY: 'single-user',
      ROTATION_PINNED_ENDPOINTS: JSON.stringify({ [arn]: 'db.abc123.eu-west-1.rds.amazonaws.com:5432' }),
    });
    expect([...config.pinnedEndpoints]).toEqual([[arn, { host: 'db.abc123.eu-west-1.rds.amazonaws.com', port: 5432 }]]);
  });

  test('reports every problem at once, naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({
        ROTATION_STRATEGY: 'multi-user',
        ROTATION_PASSWORD_LENGTH: '12abc',
        ROTATION_REQUIRE_TLS: 'yes',
        ROTATION_TLS_CA_FILE: join(dir, 'missing.pem'),
        ROTATION_CONNECT_TIMEOUT_MS: '0',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Invalid rotation function configuration: /);
    expect(message).toContain('ROTATION_STRATEGY="multi-user" is not one of single-user, alternating-users');
    expect(message).toContain('ROTATION_PASSWORD_LENGTH="12abc" is not a whole number between 8 and 4096');
    expect(message).toContain('ROTATION_REQUIRE_TLS="yes" is not true or false');
    expect(message).toContain(`ROTATION_TLS_CA_FILE=${join(dir, 'missing.pem')} cannot be read: ENOENT`);
    expect(message).toContain('ROTATION_CONNECT_TIMEOUT_MS="0" is not a whole number between 100 and 60000');
  });

  test.each([
    [{ ROTATION_STRATEGY: '' }, 'ROTATION_STRATEGY is not set (use single-user or alternating-users)'],
    [{ ROTATION_PASSWORD_LENGTH: '7' }, 'ROTATION_PASSWORD_LENGTH="7" is not a whole number between 8 and 4096'],
    [{ ROTATION_PASSWORD_LENGTH: '5000' }, 'ROTATION_PASSWORD_LENGTH="5000" is not a whole number between 8 and 4096'],
    [{ ROTATION_TLS_CA_FILE: notPem }, `ROTATION_TLS_CA_FILE=${notPem} holds no PEM certificate`],
    [{ ROTATION_EXCLUDE_UPPERCASE: 'true', ROTATION_EXCLUDE_LOWERCASE: 'true', ROTATION_EXCLUDE_NUMBERS: 'true', ROTATION_EXCLUDE_PUNCTUATION: 'true' },
      'The password policy allows no character at all'],
    [{ ROTATION_EXCLUDE_UPPERCASE: 'true', ROTATION_EXCLUDE_LOWERCASE: 'true', ROTATION_EXCLUDE_PUNCTUATION: 'true', ROTATION_EXCLUDE_CHARACTERS: '01234' },
      'the password policy leaves only 5 usable characters'],
    [{ ROTATION_PINNED_ENDPOINTS: '{' }, 'ROTATION_PINNED_ENDPOINTS is not JSON'],
    [{ ROTATION_PINNED_ENDPOINTS: '["a"]' }, 'ROTATION_PINNED_ENDPOINTS is not a JSON object'],
    [{ ROTATION_PINNED_ENDPOINTS: '{"arn:aws:secretsmanager:x":"db:99999"}' }, 'ROTATION_PINNED_ENDPOINTS has "arn:aws:secretsmanager:x": "db:99999", not a secret ARN and "host:port"'],
    [{ ROTATION_PINNED_ENDPOINTS: '{"arn:aws:secretsmanager:x":"db"}' }, 'ROTATION_PINNED_ENDPOINTS has "arn:aws:secretsmanager:x": "db", not a secret ARN and "host:port"'],
    [{ ROTATION_PINNED_ENDPOINTS: '{"db":"db:5432"}' }, 'ROTATION_PINNED_ENDPOINTS has "db": "db:5432", not a secret ARN and "host:port"'],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig({ ROTATION_STRATEGY: 'single-user', ...env } as Record<string, string>)).toThrow(message);
  });
});
