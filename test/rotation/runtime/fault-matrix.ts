/**
 * The fault matrix of the rotation handlers, defined once and run per engine
 * (postgres.rotation.test.ts, mysql.rotation.test.ts: two files so jest runs
 * the engines in parallel). Every case runs the real handler against a real
 * database and moto, and checks the invariant of rotation:
 *
 *   a credential that logs in is always retrievable (AWSCURRENT, or AWSPENDING
 *   during a single-user rotation's window), the old credential stops working
 *   only once the new one is stored, and rotation converges on retry.
 *
 * `RotationHarness.rotate` asserts the first part after every step and every
 * failed attempt (unless a case locks every credential out on purpose), and
 * each case ends with `assertConverged` and a check that no password leaked
 * into the logs or error messages.
 */
import { randomUUID } from 'crypto';
import { AddressInfo, createServer, Server } from 'net';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DbError, DbSecret } from '../../../src/rotation/runtime/engine';
import { clearValueCache } from '../../../src/rotation/runtime/protocol';
import {
  ATTACHMENT_PLACEHOLDER_HOST, captureRotationLogs, EngineName, HarnessOptions, RotationFailed, RotationHarness, rotationLogs, secretsClient,
  SimulatedCrash, Snapshot, STEPS, STRATEGIES, Strategy,
} from '../../support/rotation-harness';

const NASTY = 'o\'brien "x"\\ ü;--\'; DROP TABLE items; --';

/** Sets up a harness, runs `fn`, checks that no password leaked, cleans up. */
async function withHarness(options: HarnessOptions, fn: (h: RotationHarness) => Promise<void>): Promise<void> {
  const h = await RotationHarness.setup(options);
  try {
    await fn(h);
    await h.assertNoPasswordLeaked();
  } finally {
    await h.cleanup();
  }
}

function stagesOf(snap: Snapshot, id: string): string[] {
  return snap.versions[id] ?? [];
}

/** The users of a test case once rotated: the user (and its clone), plus the master for alternating users. */
function expectedUsers(h: RotationHarness): string[] {
  return (h.strategy === 'alternating-users' ? [h.username, h.cloneUsername, h.masterUsername] : [h.username]).sort();
}

export function defineFaultMatrix(engine: EngineName): void {
  describe(`rotation of ${engine} secrets`, () => {
    captureRotationLogs();

    describe.each(STRATEGIES)('%s', (strategy: Strategy) => {
      const alternating = strategy === 'alternating-users';

      test('each step changes exactly what it should (credential ordering), twice in a row', async () => {
        await withHarness({ engine, strategy }, async (h) => {
          const seen: Record<string, Snapshot> = {};
          const first = await h.rotate({ afterStep: async (step) => { seen[step] = await h.snapshot(); } });
          const pendingUser = alternating ? h.cloneUsername : h.username;

          // createSecret: only Secrets Manager changed; the new credential does not work yet.
          expect(seen.createSecret.current.username).toBe(h.username);
          expect(seen.createSecret.pending?.username).toBe(pendingUser);
          expect(seen.createSecret.currentLogsIn).toBe(true);
          expect(seen.createSecret.pendingLogsIn).toBe(false);
          for (const step of ['setSecret', 'testSecret'] as const) {
            // The new password works; single user: the old one stopped working at this very moment, but
            // AWSPENDING holds the new one. Alternating users: the old user keeps working.
            expect(seen[step].pendingLogsIn).toBe(true);
            expect(seen[step].currentLogsIn).toBe(alternating);
            expect(stagesOf(seen[step], first.token)).toEqual(['AWSPENDING']);
          }
          expect(stagesOf(seen.finishSecret, first.token)).toEqual(['AWSCURRENT']);
          expect(seen.finishSecret.currentLogsIn).toBe(true);
          expect(seen.finishSecret.previousLogsIn).toBe(alternating);

          const second = await h.rotate();
          const end = await h.assertConverged(second.token);
          expect(Object.keys(end.versions)).toHaveLength(3);
          expect(end.previous?.password).toBe(seen.finishSecret.current.password);
          if (alternating) {
            // Flipped twice: back to the original name; both users exist, work, and have the same privileges.
            expect(end.current.username).toBe(h.username);
            expect(end.previous?.username).toBe(h.cloneUsername);
            expect(await h.userExists(h.username)).toBe(true);
            expect(await h.userExists(h.cloneUsername)).toBe(true);
            expect(end.previousLogsIn).toBe(true);
            expect(await h.canSelect(end.current)).toBe(true);
            expect(await h.canSelect(end.previous!)).toBe(true);
            if (engine === 'mysql') {
              const tls = await h.admin("SELECT ssl_type AS t FROM mysql.user WHERE User = ? AND Host = '%'", [h.cloneUsername]);
              expect(String(tls[0].t)).toBe('ANY'); // REQUIRE SSL copied from the original user
            }
          } else {
            expect(end.current.username).toBe(h.username);
            expect(end.previousLogsIn).toBe(false);
            expect(await h.canSelect(end.current)).toBe(true);
          }
          expect(await h.usersOfThisTest()).toEqual(expectedUsers(h));
        });
      });

      test.each(STEPS)('a crash after %s, then a retry with the same token, converges', async (step) => {
        await withHarness({ engine, strategy }, async (h) => {
          const token = '00000000-0000-4000-8000-' + h.id.padStart(12, '0');
          await expect(h.rotate({ token, crashAfter: step })).rejects.toThrow(SimulatedCrash);
          const mid = await h.assertRetrievableLogin();
          if (step === 'finishSecret') {
            expect(stagesOf(mid, token)).toEqual(['AWSCURRENT']);
          } else {
            expect(stagesOf(mid, token)).toEqual(['AWSPENDING']);
            // Single user: the old password works until setSecret, the new one from setSecret on.
            expect(mid.pendingLogsIn).toBe(step !== 'createSecret');
            expect(mid.currentLogsIn).toBe(alternating || step === 'createSecret');
          }
          await h.rotate({ token });
          const end = await h.assertConverged(token);
          expect(end.current.username).toBe(alternating ? h.cloneUsername : h.username);
          expect(Object.keys(end.versions)).toHaveLength(2);
        });
      });

      test.each(STEPS)('a crash after %s, then a new rotation with a new token, converges', async (step) => {
        await withHarness({ engine, strategy }, async (h) => {
          const crashed = await h.rotate({ crashAfter: step }).catch((err: SimulatedCrash) => err);
          expect(crashed).toBeInstanceOf(SimulatedCrash);
          const stale = (crashed as SimulatedCrash).token;
          const mid = await h.assertRetrievableLogin();
          const second = await h.rotate();
          const end = await h.assertConverged(second.token);
          if (step === 'finishSecret') {
            expect(stagesOf(end, stale)).toEqual(['AWSPREVIOUS']);
            expect(end.current.username).toBe(h.username); // alternating: flipped back
          } else {
            // The abandoned version lost AWSPENDING. Its password was carried over if it was already set in the
            // database (it logs in); after a crash before setSecret it was not, and a new one is generated: a
            // staged password is never set unless it is the database's already (anyone who may write could stage one).
            expect(stagesOf(end, stale)).toEqual([]);
            if (step === 'createSecret') {
              expect(mid.pendingLogsIn).toBe(false);
              expect(end.current.password).not.toBe(mid.pending!.password);
            } else {
              expect(end.current.password).toBe(mid.pending!.password);
            }
            expect(end.current.username).toBe(alternating ? h.cloneUsername : h.username);
          }
        });
      });

      test('the database refuses logins during setSecret (user or master locked), then recovers', async () => {
        await withHarness({ engine, strategy }, async (h) => {
          // Single user: the user itself is locked (no credential can log in: no invariant to check meanwhile).
          // Alternating users: the master user is locked; the current user keeps working.
          const locked = alternating ? h.masterUsername : h.username;
          h.checkInvariant = alternating;
          const run = await h.rotate({
            beforeStep: async (step) => { if (step === 'setSecret') await h.setLoginAllowed(locked, false); },
            afterFailure: async (step, attempt) => {
              expect(step).toBe('setSecret');
              expect(attempt).toBe(1);
              // Nothing changed in the database: once unlocked, AWSCURRENT logs in again.
              await h.setLoginAllowed(locked, true);
              const snap = await h.snapshot();
              expect(snap.currentLogsIn).toBe(true);
              expect(snap.pendingLogsIn).toBe(false);
              if (alternating) expect(await h.userExists(h.cloneUsername)).toBe(false);
              h.checkInvariant = true;
            },
          });
          expect(run.failures).toHaveLength(1);
          expect(run.failures[0]).toMatch(alternating
            ? /^setSecret#1: setSecret cannot log in as the master user "master_\w+"/
            : /^setSecret#1: setSecret cannot log in as "app_\w+" with the AWSCURRENT or AWSPENDING password/);
          expect(run.failures[0]).toMatch(engine === 'postgres' ? /not permitted to log in/ : /account is locked/);
          await h.assertConverged(run.token);
        });
      });

      test('the database refuses logins during testSecret (the new user locked), then recovers', async () => {
        await withHarness({ engine, strategy }, async (h) => {
          const locked = alternating ? h.cloneUsername : h.username;
          const run = await h.rotate({
            beforeStep: async (step) => {
              if (step === 'testSecret') {
                h.checkInvariant = alternating; // single user: the only working credential is locked out
                await h.setLoginAllowed(locked, false);
              }
            },
            afterFailure: async (step) => {
              expect(step).toBe('testSecret');
              await h.setLoginAllowed(locked, true);
              h.checkInvariant = true;
              await h.assertRetrievableLogin();
            },
          });
          expect(run.failures).toEqual([expect.stringMatching(/^testSecret#1: testSecret: the AWSPENDING credentials of "app_\w+" do not work: cannot log in/)]);
          await h.assertConverged(run.token);
        });
      });

      test('AWSCURRENT holds a wrong password but AWSPREVIOUS the working one', async () => {
        await withHarness({ engine, strategy }, async (h) => {
          const original = (await h.getStage('AWSCURRENT'))!;
          await h.putCurrent({ ...original, password: 'not-the-password-' + h.id });
          h.checkInvariant = false; // broken on purpose until the rotation repairs it
          const run = await h.rotate({ afterStep: async (step) => { if (step === 'setSecret') h.checkInvariant = true; } });
          expect(run.failures).toEqual([]);
          const end = await h.assertConverged(run.token);
          expect(end.current.username).toBe(alternating ? h.cloneUsername : h.username);
          if (!alternating) {
            const warned = rotationLogs().some(l => l.includes(run.token) && l.includes('logged in with AWSPREVIOUS'));
            expect(warned).toBe(true);
            expect(await h.canLogin(original)).toBe(false); // the old password was replaced
          }
        });
      });

      test('two concurrent invocations with one token: exactly one new password, current, and it logs in', async () => {
        await withHarness({ engine, strategy }, async (h) => {
          // Mid-race snapshots are not meaningful (moto lets the two createSecrets overwrite each other's value).
          h.checkInvariant = false;
          const token = '11111111-0000-4000-8000-' + h.id.padStart(12, '0');
          h.emulateImmutableVersions(); // moto lets the second PutSecretValue replace the first one's value; Secrets Manager refuses it
          const results = await Promise.allSettled([h.rotate({ token, maxAttempts: 5 }), h.rotate({ token, maxAttempts: 5 })]);
          expect(results.map(r => r.status)).toEqual(['fulfilled', 'fulfilled']);
          const end = await h.assertConverged(token);
          expect(Object.keys(end.versions)).toHaveLength(2); // the initial version and the one new version
          expect(end.current.password).not.toBe(h.initialPassword);
          expect(await h.usersOfThisTest()).toEqual(expectedUsers(h));
          await h.rotate(); // and the next rotation works as usual
          await h.assertConverged();
        });
      });

      test('a stale AWSPENDING from an earlier failed rotation, then a new rotation with a new token', async () => {
        await withHarness({ engine, strategy }, async (h) => {
          const locked = alternating ? h.cloneUsername : h.username;
          h.checkInvariant = alternating;
          const failed = await h.rotate({
            maxAttempts: 2,
            beforeStep: async (step) => { if (step === 'testSecret') await h.setLoginAllowed(locked, false); },
          }).catch((err: RotationFailed) => err);
          expect(failed).toBeInstanceOf(RotationFailed);
          expect((failed as RotationFailed).step).toBe('testSecret');
          await h.setLoginAllowed(locked, true);
          h.checkInvariant = true;
          const staleToken = (failed as RotationFailed).token;
          const mid = await h.assertRetrievableLogin();
          expect(stagesOf(mid, staleToken)).toEqual(['AWSPENDING']);

          const run = await h.rotate();
          const end = await h.assertConverged(run.token);
          expect(stagesOf(end, staleToken)).toEqual([]);
          expect(end.current.username).toBe(alternating ? h.cloneUsername : h.username);
        });
      });

      test('user names and passwords with quotes, backslashes, spaces, semicolons and Unicode: no SQL injection', async () => {
        await withHarness({
          engine,
          strategy,
          username: NASTY,
          password: `p${NASTY}`,
          // Passwords of digits and ' " \ ; - only (256 long: each of them is all but certain to occur).
          env: {
            ROTATION_EXCLUDE_UPPERCASE: 'true',
            ROTATION_EXCLUDE_LOWERCASE: 'true',
            ROTATION_EXCLUDE_CHARACTERS: '!#$%&()*+,./:<=>?@[]^_`{|}~',
            ROTATION_PASSWORD_LENGTH: '256',
          },
        }, async (h) => {
          expect(await h.canLogin({ username: h.username, password: h.initialPassword })).toBe(true);
          const first = await h.rotate();
          const mid = await h.assertConverged(first.token);
          for (const c of ["'", '"', '\\', ';', '-']) {
            expect(mid.current.password).toContain(c);
          }
          const second = await h.rotate();
          const end = await h.assertConverged(second.token);
          expect(end.current.username).toBe(h.username);
          expect(await h.canSelect(end.current)).toBe(true);
          // Nothing but the intended statements ran: the table is intact and no other user exists.
          expect(await h.tableRowCount()).toBe(3);
          expect(await h.usersOfThisTest()).toEqual(expectedUsers(h));
        });
      });

      test('TLS required but the server offers none: fails loudly at setSecret, the current credential keeps working', async () => {
        await withHarness({ engine, strategy, serverWithoutTls: true }, async (h) => {
          const failed = await h.rotate({ maxAttempts: 2 }).catch((err: RotationFailed) => err);
          expect(failed).toBeInstanceOf(RotationFailed);
          expect((failed as RotationFailed).step).toBe('setSecret');
          expect((failed as RotationFailed).failures).toHaveLength(2);
          for (const failure of (failed as RotationFailed).failures) {
            expect(failure).toContain(`TLS is required (ROTATION_REQUIRE_TLS=true) but the ${engine === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} server at ${h.host}:${h.port} does not support it`);
          }
          const logged = rotationLogs().filter(l => l.includes((failed as RotationFailed).token) && l.includes('"outcome":"failed"'));
          expect(logged).toHaveLength(2);
          for (const line of logged) {
            expect(JSON.parse(line)).toMatchObject({ level: 'ERROR', step: 'setSecret', errorKind: 'tls' });
          }
          const snap = await h.snapshot();
          expect(snap.current.password).toBe(h.initialPassword);
          expect(snap.currentLogsIn).toBe(true);
          expect(snap.pendingLogsIn).toBe(false);
          if (alternating) expect(await h.userExists(h.cloneUsername)).toBe(false);
          // Control: the same rotation goes through once plaintext is explicitly allowed.
          h.env.ROTATION_REQUIRE_TLS = 'false';
          await h.rotate({ token: (failed as RotationFailed).token });
          await h.assertConverged((failed as RotationFailed).token);
        });
      });

      test('every log line is structured, and a rotation with failures logs no password', async () => {
        await withHarness({ engine, strategy }, async (h) => {
          const before = rotationLogs().length;
          // A failure whose driver message would echo the password: it must be redacted everywhere.
          h.faults = {
            beforeDb: async (operation, step) => {
              if (step === 'testSecret' && operation === 'testLogin') {
                const pending = (await h.getStage('AWSPENDING'))!;
                throw new DbError('other', `driver says: bad password '${pending.password.replace(/'/g, "''")}' / ${JSON.stringify(pending.password)} / ${pending.password}`);
              }
            },
          };
          const run = await h.rotate({ afterFailure: () => { h.faults = {}; } });
          expect(run.failures).toHaveLength(1);
          expect(run.failures[0]).toContain('driver says: bad password');
          expect(run.failures[0]).toContain('***');
          await h.assertConverged(run.token);

          const lines = rotationLogs().slice(before).map(l => JSON.parse(l) as Record<string, unknown>);
          const mine = lines.filter(l => l.token === run.token);
          expect(mine.length).toBeGreaterThanOrEqual(10);
          for (const line of mine) {
            expect(line).toMatchObject({ service: 'cdk-kms-secrets-rotation', secretArn: h.secretArn, engine, strategy });
            expect(STEPS).toContain(line.step);
          }
          const outcomes = mine.filter(l => l.outcome !== undefined);
          expect(outcomes.map(l => `${l.step}:${l.outcome}`)).toEqual([
            'createSecret:created', `setSecret:${alternating ? 'user-cloned' : 'password-set'}`, 'testSecret:failed', 'testSecret:tested', 'finishSecret:finished',
          ]);
          for (const line of outcomes) {
            expect(typeof line.durationMs).toBe('number');
          }
          await h.assertNoPasswordLeaked();
        });
      });
    });

    describe('protocol rules', () => {
      test('a password change waiting on a lock longer than ROTATION_STATEMENT_TIMEOUT_MS: the step fails in time with "statement timeout", the next attempt reconciles', async () => {
        await withHarness({ engine, strategy: 'single-user', env: { ROTATION_STATEMENT_TIMEOUT_MS: '1000', ROTATION_CONNECT_TIMEOUT_MS: '1000' } }, async (h) => {
          const release = await h.holdPasswordLock(h.username);
          let released = false;
          const attempts: number[] = [];
          let started = 0;
          try {
            const run = await h.rotate({
              maxAttempts: 4,
              beforeStep: (step) => { if (step === 'setSecret') started = Date.now(); },
              afterFailure: async (step, attempt) => {
                expect(step).toBe('setSecret');
                attempts.push(Date.now() - started);
                if (engine === 'mysql' && attempt === 1) {
                  // The abandoned change is still waiting on the server: it would land later.
                  expect(await h.runningPasswordChanges()).toBe(1);
                }
                if (attempt === 2) {
                  await release();
                  released = true;
                }
                started = Date.now();
              },
            });
            expect(run.failures).toHaveLength(2);
            for (const failure of run.failures) {
              expect(failure).toMatch(/^setSecret#\d: setting the password of .* failed: statement timeout \(1000 ms, ROTATION_STATEMENT_TIMEOUT_MS\); the connection was closed$/);
            }
            // Bounded by the statement timeout (1 s), plus the logins before it; never the server's pace.
            for (const ms of attempts) expect(ms).toBeLessThan(3500);
            const logged = rotationLogs().filter(l => l.includes(run.token) && l.includes('"outcome":"failed"'));
            expect(logged.map(l => JSON.parse(l).errorKind)).toEqual(['timeout', 'timeout']);
            if (engine === 'mysql') {
              // The second attempt cancelled the change the first one gave up on.
              expect(rotationLogs().some(l => l.includes(run.token) && l.includes('cancelled password changes left running by an earlier timed-out attempt'))).toBe(true);
              expect(await h.runningPasswordChanges()).toBe(0);
            }
            await h.assertConverged(run.token);
          } finally {
            if (!released) await release();
          }
        });
      });

      test('fields rotation does not own are kept byte for byte, types included (a numeric-string port stays a string)', async () => {
        await withHarness({
          engine,
          strategy: 'single-user',
          rawValue: v => `{"engine": "${v.engine}", "host": "${v.host}", "port": "${v.port}", "username": ${JSON.stringify(v.username)}, "password": ${JSON.stringify(v.password)}, "dbname": "${v.dbname}", "note": 1.50, "tags": {"team": ["a", "\\u00fc"]}}`,
        }, async (h) => {
          const run = await h.rotate();
          await h.assertConverged(run.token);
          const out = await secretsClient().send(new GetSecretValueCommand({ SecretId: h.secretArn, VersionStage: 'AWSCURRENT' }));
          const text = out.SecretString!;
          expect(text).toContain(`"port": "${h.port}",`);
          expect(text).toContain('"note": 1.50, "tags": {"team": ["a", "\\u00fc"]}}');
          expect(text.replace(/"password": "(?:[^"\\]|\\.)*"/, '"password": "*"')).toBe(
            `{"engine": "postgres", "host": "${h.host}", "port": "${h.port}", "username": "${h.username}", "password": "*", "dbname": "${h.dbname}", "note": 1.50, "tags": {"team": ["a", "\\u00fc"]}}`
              .replace('"postgres"', engine === 'postgres' ? '"postgres"' : '"mariadb"'));
        });
      });

      test('a token that is already AWSCURRENT returns early at every step', async () => {
        await withHarness({ engine, strategy: 'single-user' }, async (h) => {
          const run = await h.rotate();
          const before = await h.snapshot();
          for (const step of STEPS) {
            await h.invoke(step, run.token);
          }
          const after = await h.snapshot();
          expect(after.versions).toEqual(before.versions);
          expect(after.current).toEqual(before.current);
          const outcomes = rotationLogs().filter(l => l.includes(run.token) && l.includes('"outcome":"already-current"'));
          expect(outcomes).toHaveLength(4);
        });
      });

      test('an unknown step fails and changes nothing', async () => {
        await withHarness({ engine, strategy: 'single-user' }, async (h) => {
          const before = await h.versionsToStages();
          await expect(h.invoke('rotateSecret', '22222222-0000-4000-8000-000000000000')).rejects.toThrow(
            'Unknown rotation step "rotateSecret": expected one of createSecret, setSecret, testSecret, finishSecret.');
          expect(await h.versionsToStages()).toEqual(before);
        });
      });

      test.each(['setSecret', 'testSecret', 'finishSecret'])('a token that does not exist fails at %s', async (step) => {
        await withHarness({ engine, strategy: 'single-user' }, async (h) => {
          const before = await h.snapshot();
          const token = '33333333-0000-4000-8000-000000000000';
          await expect(h.invoke(step, token)).rejects.toThrow(`has no version ${token}: ${step} works on the version createSecret stores`);
          const after = await h.snapshot();
          expect(after.versions).toEqual(before.versions);
          expect(after.currentLogsIn).toBe(true);
        });
      });

      test('a token of a superseded rotation fails', async () => {
        await withHarness({ engine, strategy: 'single-user' }, async (h) => {
          const crashed = await h.rotate({ crashAfter: 'createSecret' }).catch((err: SimulatedCrash) => err);
          await h.rotate();
          await expect(h.invoke('setSecret', (crashed as SimulatedCrash).token)).rejects.toThrow(/is neither AWSPENDING nor AWSCURRENT \(its stages: none\)|has no version/);
          await h.assertConverged();
        });
      });

      test('a secret without rotation enabled is refused', async () => {
        await withHarness({ engine, strategy: 'single-user', rotationDisabled: true }, async (h) => {
          await expect(h.invoke('createSecret', '44444444-0000-4000-8000-000000000000')).rejects.toThrow(/Rotation is not enabled for secret arn:aws:secretsmanager:/);
          expect(await h.versionsWith('AWSPENDING')).toEqual([]);
        });
      });

      test('an AWSPENDING that points at another host is refused at setSecret', async () => {
        await withHarness({ engine, strategy: 'single-user' }, async (h) => {
          const token = '55555555-0000-4000-8000-' + h.id.padStart(12, '0');
          await expect(h.rotate({ token, crashAfter: 'createSecret' })).rejects.toThrow(SimulatedCrash);
          // Someone (or a buggy tool) rewrites the pending value to point at another server.
          const pending = (await h.getStage('AWSPENDING'))!;
          // (moto lets a value under an AWSPENDING version be replaced; Secrets Manager would refuse, but an operator
          // could equally stage a new AWSPENDING version with such a value.)
          await secretsClient().send(new PutSecretValueCommand({
            SecretId: h.secretArn, ClientRequestToken: token, SecretString: JSON.stringify({ ...pending, host: 'db.elsewhere.example' }), VersionStages: ['AWSPENDING'],
          }));
          clearValueCache(); // the handler remembers version values (immutable in Secrets Manager; moto changed this one)
          await expect(h.invoke('setSecret', token)).rejects.toThrow(
            /AWSPENDING of secret \S+ does not match the database fixed at deploy time \(the secret's cdk-kms-secrets:rotation:\* tags\): "host" is "db\.elsewhere\.example" instead of "127\.0\.0\.1"\. Refusing/);
          const snap = await h.snapshot();
          expect(snap.currentLogsIn).toBe(true);
        });
      });

      test('a crash between moving AWSCURRENT and removing AWSPENDING (inside finishSecret) converges', async () => {
        await withHarness({ engine, strategy: 'alternating-users' }, async (h) => {
          let crashed = false;
          h.faults = {
            // AWSCURRENT has moved; the call that takes AWSPENDING off fails (the function dies there).
            beforeSdk: (command, input) => {
              if (command === 'UpdateSecretVersionStageCommand' && input.VersionStage === 'AWSPENDING' && !crashed) {
                crashed = true;
                throw new Error('simulated crash inside finishSecret');
              }
            },
          };
          const token = '77777777-0000-4000-8000-' + h.id.padStart(12, '0');
          const run = await h.rotate({
            token,
            afterFailure: async () => {
              const mid = await h.versionsToStages();
              expect(mid[token]).toEqual(['AWSCURRENT', 'AWSPENDING']);
            },
          });
          expect(run.failures).toEqual([expect.stringMatching(
            /^finishSecret#1: Secrets Manager: removing AWSPENDING from version \S+ of secret \S+ failed: Error: simulated crash inside finishSecret$/)]);
          const end = await h.assertConverged(run.token);
          expect(stagesOf(end, run.token)).toEqual(['AWSCURRENT']);
          expect(rotationLogs().some(l => l.includes(run.token) && l.includes('already-current; AWSPENDING removed'))).toBe(true);
        });
      });

      test.each([
        ['missing', /The master secret arn:aws:secretsmanager:\S+ \(of secret \S+\) cannot be read: ResourceNotFoundException/],
        ['not-json', /The master secret \S+ \(of secret \S+\) is not valid JSON\./],
        ['no-password', /The master secret \S+ \(of secret \S+\) needs non-empty string fields "username" and "password"\./],
      ] as const)('alternating users: a %s master secret fails clearly at setSecret and changes nothing', async (master, message) => {
        await withHarness({ engine, strategy: 'alternating-users', master }, async (h) => {
          const failed = await h.rotate({ maxAttempts: 2 }).catch((err: RotationFailed) => err);
          expect(failed).toBeInstanceOf(RotationFailed);
          expect((failed as RotationFailed).step).toBe('setSecret');
          expect((failed as RotationFailed).failures[1]).toMatch(message);
          const snap = await h.snapshot();
          expect(snap.current.password).toBe(h.initialPassword);
          expect(snap.currentLogsIn).toBe(true);
          expect(await h.userExists(h.cloneUsername)).toBe(false);
        });
      });

      test('alternating users: a secret without a master secret fixed at deploy time fails at createSecret', async () => {
        await withHarness({ engine, strategy: 'alternating-users', master: 'none' }, async (h) => {
          await expect(h.invoke('createSecret', '66666666-0000-4000-8000-000000000000')).rejects.toThrow(
            /Secret \S+ does not say which database it belongs to \(no tag cdk-kms-secrets:rotation:masterarn \(the alternating-users strategy logs in only as the master secret fixed at deploy time\)\)/);
          expect(await h.versionsWith('AWSPENDING')).toEqual([]);
        });
      });
    });
  });
}

/** A TCP listener that records every connection (and closes it at once): where a tampered secret points. */
export class Trap {
  static async listen(host: string, port = 0): Promise<Trap> {
    const trap = new Trap();
    trap.server = createServer(socket => {
      trap.connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      trap.server.once('error', reject);
      trap.server.listen(port, host, resolve);
    });
    trap.host = host;
    trap.port = (trap.server.address() as AddressInfo).port;
    return trap;
  }

  public connections = 0;
  public host = '';
  public port = 0;
  private server!: Server;

  async close(): Promise<void> {
    await new Promise(resolve => this.server.close(resolve));
  }
}

type Tamper = 'host' | 'port' | 'username' | 'clone-username' | 'dbname' | 'engine';

/**
 * Tampering by a principal that may only write the secret (PutSecretValue:
 * what grantWrite gives): it stages a value with another host, port, user,
 * database or engine as AWSCURRENT, or pre-fills AWSPENDING of the rotation.
 * No credential may reach another host and no other user's password may change.
 */
export function defineTamperMatrix(engine: EngineName): void {
  describe(`tampered ${engine} secrets`, () => {
    captureRotationLogs();

    const tampered = (h: RotationHarness, value: DbSecret, tamper: Tamper, trap: Trap, other: Trap, bystander: string): DbSecret => {
      switch (tamper) {
        case 'host': return { ...value, host: other.host };
        case 'port': return { ...value, port: trap.port };
        case 'username': return { ...value, username: bystander };
        case 'clone-username': return { ...value, username: `${bystander}_clone` };
        case 'dbname': return { ...value, dbname: `${h.dbname}_other` };
        // Another family (aurora-postgresql is PostgreSQL too, and accepted): mysql, which the PostgreSQL function does not rotate at all.
        case 'engine': return { ...value, engine: 'mysql' };
      }
    };

    describe.each(STRATEGIES)('%s', (strategy: Strategy) => {
      describe.each(['AWSCURRENT', 'AWSPENDING'] as const)('written into %s', (where) => {
        test.each(['host', 'port', 'username', 'clone-username', 'dbname', 'engine'] as const)('%s changed: refused, no credential leaves, no other user changes', async (tamper) => {
          // Another host: 127.0.0.2 on the database's port; another port: a listener on the database's host.
          const trap = await Trap.listen('127.0.0.1');
          await withHarness({ engine, strategy }, async (h) => {
            const other = await Trap.listen('127.0.0.2', h.port);
            try {
              const bystander = await h.createBystander();
              const original = (await h.getStage('AWSCURRENT'))!;
              h.checkInvariant = false; // AWSCURRENT is tampered on purpose
              const token = randomUUID();
              if (where === 'AWSCURRENT') {
                await h.putCurrent(tampered(h, original, tamper, trap, other, bystander.username));
              } else {
                // Pre-filled: a value stored under the rotation's token before createSecret runs.
                const pending = tampered(h, { ...original, username: strategy === 'alternating-users' ? h.cloneUsername : h.username, password: 'chosen-by-the-writer-' + h.id }, tamper, trap, other, bystander.username);
                await secretsClient().send(new PutSecretValueCommand({ SecretId: h.secretArn, ClientRequestToken: token, SecretString: JSON.stringify(pending), VersionStages: ['AWSPENDING'] }));
                await h.canLogin(pending); // (remembers its password for the leak check)
              }
              const failed = await h.rotate({ token, maxAttempts: 2 }).catch((err: RotationFailed) => err);
              expect(failed).toBeInstanceOf(RotationFailed);
              expect((failed as RotationFailed).step).toBe('createSecret');
              expect((failed as RotationFailed).failures[1]).toMatch(new RegExp(tamper === 'engine' && engine === 'postgres'
                ? `^createSecret#2: ${where} of secret \\S+ is not a valid database secret: "engine" must be one of postgres, postgresql, aurora-postgresql for this rotation function \\(it is "mysql"\\)`
                : `^createSecret#2: ${where} of secret \\S+ does not match the database fixed at deploy time .*"${tamper.endsWith('username') ? 'username' : tamper}" is `));
              expect(trap.connections).toBe(0);
              expect(other.connections).toBe(0);
              // Nobody's password changed, no user was created.
              expect(await h.canLogin(bystander)).toBe(true);
              expect(await h.canLogin({ username: h.username, password: h.initialPassword })).toBe(true);
              expect(await h.userExists(`${bystander.username}_clone`)).toBe(false);
              expect(await h.userExists(h.cloneUsername)).toBe(false);
            } finally {
              await other.close();
            }
          });
          await trap.close();
        });
      });
    });

    test('alternating users: AWSCURRENT names the clone with a password that does not log in: the master is not used', async () => {
      await withHarness({ engine, strategy: 'alternating-users' }, async (h) => {
        const original = (await h.getStage('AWSCURRENT'))!;
        h.checkInvariant = false;
        await h.putCurrent({ ...original, username: h.cloneUsername, password: 'guessed-' + h.id });
        const failed = await h.rotate({ maxAttempts: 2 }).catch((err: RotationFailed) => err);
        expect(failed).toBeInstanceOf(RotationFailed);
        expect((failed as RotationFailed).step).toBe('setSecret');
        expect((failed as RotationFailed).failures[1]).toMatch(
          /setSecret: the credentials of "app_\w+_clone" in AWSCURRENT \(and AWSPREVIOUS\) do not log in, so nothing proves that user's credentials belong to secret \S+; refusing to use the master user's rights/);
        expect(await h.canLogin({ username: h.username, password: h.initialPassword })).toBe(true);
        expect(await h.userExists(h.cloneUsername)).toBe(false);
      });
    });

    test('alternating users: a master secret without host and port (RDS-managed) goes to the database fixed at deploy time only', async () => {
      const trap = await Trap.listen('127.0.0.1');
      await withHarness({ engine, strategy: 'alternating-users', masterWithoutHost: true }, async (h) => {
        const run = await h.rotate();
        await h.assertConverged(run.token);
      });
      // Tampered port: refused before the master secret is even read. (A fresh secret: after finishSecret, moto
      // keeps calling the old version AWSCURRENT when another value is staged AWSCURRENT.)
      await withHarness({ engine, strategy: 'alternating-users', masterWithoutHost: true }, async (h) => {
        const current = (await h.getStage('AWSCURRENT'))!;
        h.checkInvariant = false;
        await h.putCurrent({ ...current, port: trap.port });
        const failed = await h.rotate({ maxAttempts: 1 }).catch((err: RotationFailed) => err);
        expect(failed).toBeInstanceOf(RotationFailed);
        expect((failed as RotationFailed).failures[0]).toMatch(/does not match the database fixed at deploy time .*"port" is \d+ instead of \d+/);
        expect(trap.connections).toBe(0);
        expect(await h.canLogin(current)).toBe(true);
        expect(await h.userExists(h.cloneUsername)).toBe(false);
      });
      await trap.close();
    });

    // The engine values RDS, the console and hand-written secrets use for one database (runtime/engine.ts ENGINE_FAMILIES):
    // a SecretTargetAttachment writes postgres / mysql / mariadb, for Aurora clusters too; others write aurora-postgresql / aurora-mysql.
    const sameFamily: ReadonlyArray<readonly [string, string]> = engine === 'postgres'
      ? [['postgres', 'aurora-postgresql'], ['aurora-postgresql', 'postgres'], ['postgres', 'POSTGRES']]
      : [['mysql', 'aurora-mysql'], ['aurora-mysql', 'mysql'], ['mysql', 'aurora'], ['mariadb', 'MariaDB']];
    test.each(sameFamily)('pinned to engine %j, the secret says %j (same database family): rotates, and keeps the value as written', async (tag, value) => {
      await withHarness({ engine, strategy: 'alternating-users', engineValues: { tag, value } }, async (h) => {
        const run = await h.rotate();
        const snap = await h.assertConverged(run.token);
        expect(snap.current.engine).toBe(value);
      });
    });

    const otherFamily: ReadonlyArray<readonly [string, string, RegExp]> = engine === 'postgres'
      ? [['postgres', 'aurora-mysql', /is not a valid database secret: "engine" must be one of postgres, postgresql, aurora-postgresql for this rotation function \(it is "aurora-mysql"\)/]]
      : [
        ['mysql', 'mariadb', /does not match the database fixed at deploy time .*"engine" is "mariadb", not "mysql" or "aurora-mysql" or "aurora" \(the engine "mysql" fixed at deploy time\)/],
        ['mariadb', 'aurora-mysql', /does not match the database fixed at deploy time .*"engine" is "aurora-mysql", not "mariadb" \(the engine "mariadb" fixed at deploy time\)/],
      ];
    test.each(otherFamily)('pinned to engine %j, the secret says %j (another database): refused before any credential is used', async (tag, value, message) => {
      await withHarness({ engine, strategy: 'single-user', engineValues: { tag, value } }, async (h) => {
        h.checkInvariant = false;
        const failed = await h.rotate({ maxAttempts: 1 }).catch((err: RotationFailed) => err);
        expect(failed).toBeInstanceOf(RotationFailed);
        expect((failed as RotationFailed).step).toBe('createSecret');
        expect((failed as RotationFailed).failures[0]).toMatch(message);
        expect(await h.versionsWith('AWSPENDING')).toEqual([]);
        expect(await h.canLogin({ username: h.username, password: h.initialPassword })).toBe(true);
      });
    });

    test('a secret pinned to an engine this function does not rotate is refused, naming the tag', async () => {
      const tag = engine === 'postgres' ? 'mysql' : 'aurora-postgresql';
      await withHarness({ engine, strategy: 'single-user', engineValues: { tag, value: tag } }, async (h) => {
        h.checkInvariant = false;
        await expect(h.invoke('createSecret', randomUUID())).rejects.toThrow(new RegExp(
          `^Secret \\S+ is tagged cdk-kms-secrets:rotation:engine="${tag}", but this function rotates ${engine === 'postgres' ? 'postgres, postgresql, aurora-postgresql' : 'mysql, mariadb, aurora-mysql, aurora'} secrets`));
        expect(await h.versionsWith('AWSPENDING')).toEqual([]);
      });
    });

    test('alternating users: a master secret for another engine is refused before the master logs in', async () => {
      await withHarness({ engine, strategy: 'alternating-users' }, async (h) => {
        const master = JSON.parse((await secretsClient().send(new GetSecretValueCommand({ SecretId: h.masterArn }))).SecretString!);
        await secretsClient().send(new PutSecretValueCommand({ SecretId: h.masterArn, SecretString: JSON.stringify({ ...master, engine: engine === 'postgres' ? 'mysql' : 'postgres' }) }));
        h.checkInvariant = false;
        const failed = await h.rotate({ maxAttempts: 1 }).catch((err: RotationFailed) => err);
        expect(failed).toBeInstanceOf(RotationFailed);
        expect((failed as RotationFailed).step).toBe('setSecret');
        expect((failed as RotationFailed).failures[0]).toMatch(/The master secret \S+ \(of secret \S+\) is for engine "(mysql|postgres)", but the secret being rotated belongs to a (postgres|mariadb) database/);
        expect(await h.userExists(h.cloneUsername)).toBe(false);
      });
    });

    describe.each(STRATEGIES)('attached to its database (host written after deploy), %s', (strategy: Strategy) => {
      test('endpoint pinned in the function\'s configuration: refused on the placeholder, rotates once attached, keeps the attachment\'s fields', async () => {
        await withHarness({ engine, strategy, attached: true }, async (h) => {
          // Before the attachment wrote the host (the schedule waits for it): refused, nothing sent anywhere.
          h.checkInvariant = false;
          const early = await h.rotate({ maxAttempts: 1 }).catch((err: RotationFailed) => err);
          expect(early).toBeInstanceOf(RotationFailed);
          expect((early as RotationFailed).failures[0]).toMatch(
            new RegExp(`does not match the database fixed at deploy time .*"host" is "${ATTACHMENT_PLACEHOLDER_HOST.replace(/\./g, '\\.')}" instead of "${h.host}"`));
          await h.attach();
          h.checkInvariant = true;
          const run = await h.rotate();
          const snap = await h.assertConverged(run.token);
          expect(snap.current).toMatchObject({ host: h.host, port: h.port, dbInstanceIdentifier: `db-${h.id}` });
          expect(snap.current.username).toBe(strategy === 'alternating-users' ? h.cloneUsername : h.username);
        });
      });

      test.each(['host', 'port'] as const)('%s tampered after the attachment: refused, no credential leaves', async (tamper) => {
        const trap = await Trap.listen('127.0.0.1');
        await withHarness({ engine, strategy, attached: true }, async (h) => {
          const other = await Trap.listen('127.0.0.2', h.port);
          try {
            await h.attach();
            const attached = (await h.getStage('AWSCURRENT'))!;
            h.checkInvariant = false;
            await h.putCurrent(tamper === 'host' ? { ...attached, host: other.host } : { ...attached, port: trap.port });
            const failed = await h.rotate({ maxAttempts: 2 }).catch((err: RotationFailed) => err);
            expect(failed).toBeInstanceOf(RotationFailed);
            expect((failed as RotationFailed).failures[1]).toMatch(new RegExp(`^createSecret#2: AWSCURRENT of secret \\S+ does not match the database fixed at deploy time .*"${tamper}" is `));
            expect(trap.connections).toBe(0);
            expect(other.connections).toBe(0);
            expect(await h.canLogin({ username: h.username, password: h.initialPassword })).toBe(true);
            expect(await h.userExists(h.cloneUsername)).toBe(false);
          } finally {
            await other.close();
          }
        });
        await trap.close();
      });
    });

    test('attached secret, but the function\'s configuration does not pin it: refused with the reason', async () => {
      await withHarness({ engine, strategy: 'single-user', attached: true }, async (h) => {
        await h.attach();
        h.env.ROTATION_PINNED_ENDPOINTS = undefined;
        await expect(h.invoke('createSecret', randomUUID())).rejects.toThrow(
          /^Secret \S+ does not say which database it belongs to \(tag cdk-kms-secrets:rotation:endpoint says its host and port are pinned in the rotation function's configuration, but this function's ROTATION_PINNED_ENDPOINTS has no entry for it/);
        expect(await h.versionsWith('AWSPENDING')).toEqual([]);
      });
    });

    test('a secret without the deploy-time tags is refused before any credential is used', async () => {
      await withHarness({ engine, strategy: 'single-user', withoutPinTags: true }, async (h) => {
        await expect(h.invoke('createSecret', randomUUID())).rejects.toThrow(
          /^Secret \S+ does not say which database it belongs to \(no tag cdk-kms-secrets:rotation:engine; no tag cdk-kms-secrets:rotation:host; no tag cdk-kms-secrets:rotation:port; no tag cdk-kms-secrets:rotation:username\)\. The rotation function sends credentials only to the database fixed at deploy time/);
        expect(await h.versionsWith('AWSPENDING')).toEqual([]);
      });
    });
  });
}
