/**
 * The DatabaseUser provisioning handler against the real PostgreSQL 15 and
 * MariaDB servers (TLS on, verified against the test CA) and moto:
 *
 *   bash scripts/with-services.sh npx jest --ci test/databases/user
 *
 * Each case asserts what the database holds afterwards (seen as the
 * server's superuser or as the new user), that nothing reached the decoy
 * host/port the secrets name, and that no password appears in any log line
 * or answer to CloudFormation.
 */
import { createServer, Socket } from 'net';
import { closedPort, connectionCounter, ENGINES, mysqlId, UserHarness } from './user-harness';
import { describeWithServices } from '../../support/services';

jest.setTimeout(60_000);

describeWithServices.each(ENGINES)('DatabaseUser provisioning on %s', engine => {
  const harnesses: UserHarness[] = [];
  const setup = async (options: Partial<Parameters<typeof UserHarness.setup>[0]> = {}) => {
    const h = await UserHarness.setup({ engine, ...options });
    harnesses.push(h);
    return h;
  };
  afterEach(async () => {
    for (const h of harnesses.splice(0)) {
      h.assertNoPasswordLeaked();
      expect(await h.decoyConnections()).toBe(0);
      await h.close();
    }
  });

  test('Create: the user is created over TLS with the secret\'s password, and its privileges work', async () => {
    const h = await setup();
    const { response } = await h.invoke(h.event('Create'));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `user:${h.username}`, Data: { Username: h.username } });
    // Read and write as the new user.
    await h.asUser(h.username, h.userPassword, `INSERT INTO ${h.table} (name) VALUES ('c')`);
    const rows = await h.asUser(h.username, h.userPassword, `SELECT name FROM ${h.table} ORDER BY id`);
    expect(rows.map(r => r.name)).toEqual(['a', 'b', 'c']);
    await h.asUser(h.username, h.userPassword, `DELETE FROM ${h.table} WHERE name = 'c'`);
    // Nothing beyond them: no DDL, no users.
    await expect(h.asUser(h.username, h.userPassword, `DROP TABLE ${h.table}`)).rejects.toThrow();
    const createUser = engine === 'postgres' ? 'CREATE ROLE intruder LOGIN' : "CREATE USER 'intruder'@'%'";
    await expect(h.asUser(h.username, h.userPassword, createUser)).rejects.toThrow();
    if (engine === 'mysql') {
      // Created REQUIRE SSL (TLS is required by default): rotation's clone copies it.
      const [row] = await h.asSuperuser("SELECT ssl_type AS t FROM mysql.user WHERE User = ? AND Host = '%'", [h.username]);
      expect(String(row.t)).toBe('ANY');
    }
  });

  test('Create: tables created later by the master user are covered too (PostgreSQL default privileges)', async () => {
    const h = await setup();
    expect((await h.invoke(h.event('Create'))).response.Status).toBe('SUCCESS');
    const later = engine === 'postgres' ? 'later' : `${mysqlId(h.dbname)}.later`;
    await h.asUser(h.masterUsername, h.masterPassword, `CREATE TABLE ${later} (id int)`);
    await h.asUser(h.username, h.userPassword, `INSERT INTO ${later} VALUES (1)`);
    expect(await h.asUser(h.username, h.userPassword, `SELECT id FROM ${later}`)).toEqual([{ id: 1 }]);
  });

  test('re-runs and duplicate deliveries are idempotent, also when they run at once', async () => {
    const h = await setup();
    const first = await h.invoke(h.event('Create'));
    const stored = await h.storedPassword(h.username);
    const again = await h.invoke(h.event('Create'));
    const parallel = await Promise.all([h.invoke(h.event('Create')), h.invoke(h.event('Create'))]);
    for (const { response } of [first, again, ...parallel]) {
      expect({ ...response, Reason: response.Reason ?? '' }).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `user:${h.username}`, Reason: '' });
    }
    expect(await h.storedPassword(h.username)).toBe(stored);
    expect(await h.asUser(h.username, h.userPassword, `SELECT COUNT(*) AS n FROM ${h.table}`)).toEqual([{ n: engine === 'postgres' ? '2' : 2 }]);
  });

  test('six requests at once from scratch (creates and updates): all succeed, one user', async () => {
    const h = await setup();
    const results = await Promise.all([...Array(3)].flatMap(() => [h.invoke(h.event('Create')), h.invoke(h.event('Update'))]));
    expect(results.map(r => r.response.Reason ?? r.response.Status)).toEqual(Array(6).fill('SUCCESS'));
    expect(await h.logsIn(h.username, h.userPassword)).toBe(true);
  });

  test('an existing user whose password is the secret\'s is accepted unchanged, and gets the privileges', async () => {
    const h = await setup();
    await h.createUserDirectly(h.username, h.userPassword);
    const stored = await h.storedPassword(h.username);
    const { response, logs } = await h.invoke(h.event('Create'));
    expect(response.Status).toBe('SUCCESS');
    expect(await h.storedPassword(h.username)).toBe(stored);
    expect(logs.join('\n')).toContain('password kept');
    expect(await h.asUser(h.username, h.userPassword, `SELECT COUNT(*) AS n FROM ${h.table}`)).toHaveLength(1);
  });

  test('an existing user with another password: refused, nothing changed; adopted only when asked', async () => {
    const h = await setup();
    const theirs = 'someone-elses-password-1A';
    await h.createUserDirectly(h.username, theirs);
    const stored = await h.storedPassword(h.username);
    const { response } = await h.invoke(h.event('Create'));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain(`The user "${h.username}" exists`);
    expect(response.Reason).toContain('adoptExistingUser');
    expect(response.PhysicalResourceId).toMatch(/^no-user:/);
    expect(await h.storedPassword(h.username)).toBe(stored);
    expect(await h.logsIn(h.username, theirs)).toBe(engine === 'postgres'); // MariaDB: no privilege on the database yet
    await expect(h.asUser(h.username, theirs, `SELECT * FROM ${h.table}`)).rejects.toThrow();

    // Its rollback Delete (even with DropOnDelete) drops nothing: the user was never ours.
    const rollback = await h.invoke(h.event('Delete', { physicalResourceId: response.PhysicalResourceId, properties: h.properties({ DropOnDelete: 'true' }) }));
    expect(rollback.response.Status).toBe('SUCCESS');
    expect(await h.userExists(h.username)).toBe(true);

    const adopted = await h.invoke(h.event('Create', { properties: h.properties({ AdoptExistingUser: 'true' }) }));
    expect(adopted.response.Status).toBe('SUCCESS');
    expect(await h.logsIn(h.username, h.userPassword)).toBe(true);
    expect(await h.logsIn(h.username, theirs)).toBe(false);
  });

  test('a wrong master password: a clear error, no password in it, nothing created', async () => {
    const h = await setup();
    await h.putMasterPassword('wrong-master-password-9Z');
    const { response } = await h.invoke(h.event('Create'));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/cannot log in to (PostgreSQL|MySQL\/MariaDB) at .* as .*master_.*\[auth\]/);
    expect(await h.userExists(h.username)).toBe(false);
  });

  test('a database that is down (closed port): a clear network error, nothing created', async () => {
    const h = await setup();
    const port = await closedPort();
    h.pin([`${h.host}:${port}`]);
    const { response } = await h.invoke(h.event('Create', { properties: h.properties({ Port: String(port) }) }));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain('cannot reach');
    expect(response.Reason).toContain(`${h.host}:${port}`);
    expect(response.Reason).toContain('[network]');
    expect(await h.userExists(h.username)).toBe(false);
  });

  test('a database that accepts TCP but never answers: fails within the connect timeout', async () => {
    const h = await setup();
    const sockets: Socket[] = [];
    const silent = createServer(s => sockets.push(s));
    await new Promise<void>(r => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      h.pin([`127.0.0.1:${port}`]);
      const started = Date.now();
      const { response } = await h.invoke(h.event('Create', { properties: h.properties({ Host: '127.0.0.1', Port: String(port) }) }));
      expect(response.Status).toBe('FAILED');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(response.Reason).toMatch(/timeout|timed out|ETIMEDOUT|terminated/i);
    } finally {
      sockets.forEach(s => s.destroy());
      await new Promise(r => silent.close(r));
    }
    expect(await h.userExists(h.username)).toBe(false);
  });

  test('an endpoint not pinned for the master secret is refused before any connection', async () => {
    const h = await setup();
    const listener = await connectionCounter();
    try {
      const { response } = await h.invoke(h.event('Create', { properties: h.properties({ Host: '127.0.0.1', Port: String(listener.port) }) }));
      expect(response.Status).toBe('FAILED');
      expect(response.Reason).toContain('is not pinned for the master secret');
      expect(listener.count()).toBe(0);
      // Another master secret than the pinned one: refused the same way.
      const other = await h.invoke(h.event('Create', { properties: h.properties({ MasterSecretArn: `${h.masterSecretArn}x` }) }));
      expect(other.response.Reason).toContain('is not pinned for the master secret');
    } finally {
      await listener.close();
    }
    expect(await h.userExists(h.username)).toBe(false);
  });

  test('TLS is required: a server without TLS is refused, nothing created', async () => {
    const h = await setup({ serverWithoutTls: true });
    const { response } = await h.invoke(h.event('Create'));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain('TLS is required');
    expect(await h.userExists(h.username)).toBe(false);
    // Explicitly relaxed: created in plaintext (and on MariaDB without REQUIRE SSL).
    h.env.ROTATION_REQUIRE_TLS = 'false';
    expect((await h.invoke(h.event('Create'))).response.Status).toBe('SUCCESS');
    expect(await h.logsIn(h.username, h.userPassword)).toBe(true);
  });

  test('privileges outside the allowlist and missing properties are refused without connecting', async () => {
    const h = await setup();
    const bad = await h.invoke(h.event('Create', { properties: h.properties({ Privileges: 'SELECT,ALL PRIVILEGES' }) }));
    expect(bad.response.Status).toBe('FAILED');
    expect(bad.response.Reason).toContain('ALL PRIVILEGES');
    const injection = await h.invoke(h.event('Create', { properties: h.properties({ Privileges: 'SELECT ON *.* TO x; --' }) }));
    expect(injection.response.Status).toBe('FAILED');
    const missing = await h.invoke(h.event('Create', { properties: h.properties({ DatabaseName: undefined }) }));
    expect(missing.response.Reason).toContain('DatabaseName is missing');
    expect(await h.userExists(h.username)).toBe(false);
  });

  test('a database that does not exist: a clear error, nothing created', async () => {
    const h = await setup();
    const { response } = await h.invoke(h.event('Create', { properties: h.properties({ DatabaseName: 'no_such_db' }) }));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/no_such_db.*does not exist/);
    expect(await h.userExists(h.username)).toBe(false);
  });

  test('the user secret naming the master user is refused', async () => {
    const h = await setup();
    await h.putUserSecret(h.masterUsername, h.masterPassword);
    const { response } = await h.invoke(h.event('Create', { properties: h.properties({ AdoptExistingUser: 'true' }) }));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain('never creates, adopts or changes the master user');
  });

  test.each([
    ['quotes and a statement', 'ap"p\'; DROP TABLE items; --'],
    ['backticks and a placeholder', 'a`b?c'],
    ['backslashes and percent', 'a\\b%c_d'],
    ['unicode', 'ünïcødé_用户'],
  ])('a hostile username (%s) is created exactly as named', async (_name, username) => {
    const h = await setup({ username });
    await h.putUserSecret(username, h.userPassword);
    const { response } = await h.invoke(h.event('Create'));
    expect(response).toMatchObject({ Status: 'SUCCESS', Data: { Username: username } });
    expect(await h.userExists(username)).toBe(true);
    expect(await h.asUser(username, h.userPassword, `SELECT COUNT(*) AS n FROM ${h.table}`)).toHaveLength(1);
  });

  test('a hostile database name is granted on exactly, wildcards included', async () => {
    const dbname = engine === 'postgres' ? `d"b'?_${Math.random().toString(36).slice(2, 6)}` : `d\`b'?_${Math.random().toString(36).slice(2, 6)}`;
    const h = await setup({ dbname });
    const { response } = await h.invoke(h.event('Create'));
    expect(response.Status).toBe('SUCCESS');
    expect(await h.asUser(h.username, h.userPassword, `SELECT COUNT(*) AS n FROM ${h.table}`)).toHaveLength(1);
    if (engine === 'mysql') {
      // `_` is a wildcard in a database-level GRANT: a database whose name differs there must stay out of reach.
      const lookalike = dbname.replace('_', 'X');
      await h.asSuperuser(`CREATE DATABASE ${mysqlId(lookalike)}`);
      await h.asSuperuser(`CREATE TABLE ${mysqlId(lookalike)}.t (id int)`);
      await expect(h.asUser(h.username, h.userPassword, `SELECT * FROM ${mysqlId(lookalike)}.t`)).rejects.toThrow(/denied/);
      await h.asSuperuser(`DROP DATABASE ${mysqlId(lookalike)}`);
    }
  });

  test('Update: privileges follow the properties, the password is never touched (rotation owns it)', async () => {
    const h = await setup();
    const initial = h.properties({ Privileges: `SELECT,INSERT${engine === 'postgres' ? ',CONNECT' : ''}` });
    expect((await h.invoke(h.event('Create', { properties: initial }))).response.Status).toBe('SUCCESS');
    await expect(h.asUser(h.username, h.userPassword, `DELETE FROM ${h.table}`)).rejects.toThrow();
    // A rotation has run since: the database and AWSCURRENT hold a new password.
    const rotated = 'rotated-password-7Q';
    if (engine === 'postgres') await h.asSuperuser(`ALTER ROLE "${h.username}" PASSWORD '${rotated}'`);
    else await h.asSuperuser("ALTER USER ?@'%' IDENTIFIED BY ?", [h.username, rotated]);
    await h.putUserSecret(h.username, rotated);
    const stored = await h.storedPassword(h.username);

    const updated = h.properties({ Privileges: `SELECT,DELETE${engine === 'postgres' ? ',CONNECT' : ''}` });
    const { response } = await h.invoke(h.event('Update', { properties: updated, old: initial }));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `user:${h.username}` });
    expect(await h.storedPassword(h.username)).toBe(stored);
    await h.asUser(h.username, rotated, `DELETE FROM ${h.table} WHERE name = 'a'`);
    await expect(h.asUser(h.username, rotated, `INSERT INTO ${h.table} (name) VALUES ('x')`)).rejects.toThrow();
  });

  test('Update after an alternating-users rotation: the pair is one user; both get the privileges', async () => {
    const h = await setup();
    const initial = h.properties({ Privileges: `SELECT${engine === 'postgres' ? ',CONNECT' : ''}` });
    expect((await h.invoke(h.event('Create', { properties: initial }))).response.Status).toBe('SUCCESS');
    // What the rotation leaves: <name>_clone exists and AWSCURRENT names it.
    const clone = `${h.username}_clone`;
    const clonePassword = 'clone-password-3K';
    await h.createUserDirectly(clone, clonePassword);
    if (engine === 'postgres') await h.asSuperuser(`GRANT "${h.username}" TO "${clone}"`);
    await h.putUserSecret(clone, clonePassword);
    const updated = h.properties({ Privileges: `SELECT,INSERT${engine === 'postgres' ? ',CONNECT' : ''}` });
    const { response } = await h.invoke(h.event('Update', { properties: updated, old: initial }));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `user:${h.username}`, Data: { Username: h.username } });
    await h.asUser(clone, clonePassword, `INSERT INTO ${h.table} (name) VALUES ('c')`);
    await h.asUser(h.username, h.userPassword, `INSERT INTO ${h.table} (name) VALUES ('d')`);
  });

  test('Update to another database: the privileges move there', async () => {
    const h = await setup();
    expect((await h.invoke(h.event('Create'))).response.Status).toBe('SUCCESS');
    // Same server, another database: the user gets the privileges on it (PostgreSQL revokes the old ones).
    const other = `${h.dbname}_b`;
    if (engine === 'postgres') {
      await h.asSuperuser(`CREATE DATABASE "${other}" OWNER "${h.masterUsername}"`);
    } else {
      await h.asSuperuser(`CREATE DATABASE ${mysqlId(other)}`);
    }
    const moved = h.properties({ DatabaseName: other });
    const { response } = await h.invoke(h.event('Update', { properties: moved, old: h.properties() }));
    expect(response.Status).toBe('SUCCESS');
    expect(await h.logsIn(h.username, h.userPassword, other)).toBe(true);
    await h.asUser(h.masterUsername, h.masterPassword, engine === 'postgres' ? 'CREATE TABLE t (id int)' : `CREATE TABLE ${mysqlId(other)}.t (id int)`, other);
    await h.asUser(h.username, h.userPassword, engine === 'postgres' ? 'INSERT INTO t VALUES (1)' : `INSERT INTO ${mysqlId(other)}.t VALUES (1)`, other);
    // The old database's privileges are revoked.
    await expect(h.asUser(h.username, h.userPassword, `SELECT * FROM ${h.table}`)).rejects.toThrow();
  });

  test('Delete: the user is retained by default, dropped (with its clone) only with RemovalPolicy.DESTROY', async () => {
    const h = await setup();
    expect((await h.invoke(h.event('Create'))).response.Status).toBe('SUCCESS');
    const retained = await h.invoke(h.event('Delete'));
    expect(retained.response.Status).toBe('SUCCESS');
    expect(await h.userExists(h.username)).toBe(true);
    expect(retained.logs.join('\n')).toContain('user retained');

    await h.createUserDirectly(`${h.username}_clone`, 'clone-password-4L');
    const dropped = await h.invoke(h.event('Delete', { properties: h.properties({ DropOnDelete: 'true' }) }));
    expect(dropped.response.Status).toBe('SUCCESS');
    expect(await h.userExists(h.username)).toBe(false);
    expect(await h.userExists(`${h.username}_clone`)).toBe(false);
    // Again (a duplicate delivery): nothing left to drop, still a success.
    expect((await h.invoke(h.event('Delete', { properties: h.properties({ DropOnDelete: 'true' }) }))).response.Status).toBe('SUCCESS');
  });

  test('Delete never drops a user the secret does not name, nor the master user', async () => {
    const h = await setup();
    expect((await h.invoke(h.event('Create'))).response.Status).toBe('SUCCESS');
    const forged = await h.invoke(h.event('Delete', { physicalResourceId: `user:${h.masterUsername}`, properties: h.properties({ DropOnDelete: 'true' }) }));
    expect(forged.response.Status).toBe('FAILED');
    expect(forged.response.Reason).toContain('Refusing to drop');
    expect(await h.userExists(h.masterUsername)).toBe(true);
    expect(await h.userExists(h.username)).toBe(true);
    // A user the secret does not name (another application's, or the old name after a replacement): kept.
    await h.createUserDirectly(`bystander_${h.id}`, 'bystander-password-5M');
    const other = await h.invoke(h.event('Delete', { physicalResourceId: `user:bystander_${h.id}`, properties: h.properties({ DropOnDelete: 'true' }) }));
    expect(other.response.Status).toBe('SUCCESS');
    expect(other.logs.join('\n')).toContain('user retained: the user secret');
    expect(await h.userExists(`bystander_${h.id}`)).toBe(true);
    await h.asSuperuser(engine === 'postgres' ? `DROP ROLE "bystander_${h.id}"` : `DROP USER 'bystander_${h.id}'@'%'`);
  });

  test.each(['single-user', 'alternating-users'] as const)('the first %s rotation succeeds on the user created, and its privileges carry over', async strategy => {
    const h = await setup({ rotation: strategy });
    expect((await h.invoke(h.event('Create'))).response.Status).toBe('SUCCESS');
    const first = await h.rotate();
    expect(first.username).toBe(strategy === 'single-user' ? h.username : `${h.username}_clone`);
    expect(first.password).not.toBe(h.userPassword);
    await h.asUser(first.username, first.password, `INSERT INTO ${h.table} (name) VALUES ('r')`);
    expect(await h.asUser(first.username, first.password, `SELECT COUNT(*) AS n FROM ${h.table}`)).toHaveLength(1);
    // A later update of the resource keeps rotation's password and the resource's identity.
    const stored = await h.storedPassword(first.username);
    const { response } = await h.invoke(h.event('Update'));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `user:${h.username}` });
    expect(await h.storedPassword(first.username)).toBe(stored);
    // And the next rotation still works (alternating: back to the base user).
    const second = await h.rotate();
    expect(second.username).toBe(h.username);
    await h.asUser(second.username, second.password, `DELETE FROM ${h.table} WHERE name = 'r'`);
  });
});
