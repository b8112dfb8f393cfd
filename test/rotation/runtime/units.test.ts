/** Pure helpers of the runtime: user name alternation, MySQL grant rewriting, SCRAM verifiers. */
import { replaceMembers } from '../../../src/rotation/runtime/json-fields';
import { quoteAccount, rewriteGrant } from '../../../src/rotation/runtime/mysql';
import { scramSha256Verifier } from '../../../src/rotation/runtime/postgres';
import { alternateUsername } from '../../../src/rotation/runtime/protocol';

describe('alternateUsername', () => {
  test.each([
    ['app', 'app_clone'],
    ['app_clone', 'app'],
    ["o'brien \"x\"\\ ü;--", "o'brien \"x\"\\ ü;--_clone"],
  ])('%s <-> %s', (a, b) => {
    expect(alternateUsername(a)).toBe(b);
    expect(alternateUsername(b)).toBe(a);
  });

  test('only one trailing _clone is stripped', () => {
    expect(alternateUsername('app_clone_clone')).toBe('app_clone');
    expect(alternateUsername('clone')).toBe('clone_clone');
  });
});

describe('MySQL grant rewriting', () => {
  const from = quoteAccount("o'brien `x`\\", '%');
  const to = quoteAccount("o'brien `x`\\_clone", '%');

  test('quotes accounts the way SHOW GRANTS prints them (backticks doubled, nothing else escaped)', () => {
    expect(from).toBe("`o'brien ``x``\\`@`%`");
  });

  test.each([
    [`GRANT SELECT, INSERT ON \`db\`.* TO ${from}`, `GRANT SELECT, INSERT ON \`db\`.* TO ${to}`],
    [`GRANT SELECT (\`a TO b\`) ON \`db\`.\`t\` TO ${from} WITH GRANT OPTION`, `GRANT SELECT (\`a TO b\`) ON \`db\`.\`t\` TO ${to} WITH GRANT OPTION`],
    [`GRANT \`role\` TO ${from}`, `GRANT \`role\` TO ${to}`],
    [`GRANT \`role\` TO ${from} WITH ADMIN OPTION`, `GRANT \`role\` TO ${to} WITH ADMIN OPTION`],
    [`GRANT PROXY ON ''@'%' TO ${from} WITH GRANT OPTION`, `GRANT PROXY ON ''@'%' TO ${to} WITH GRANT OPTION`],
    [`SET DEFAULT ROLE \`role\` FOR ${from}`, `SET DEFAULT ROLE \`role\` FOR ${to}`],
    [`REVOKE INSERT ON \`mysql\`.* FROM ${from}`, `REVOKE INSERT ON \`mysql\`.* FROM ${to}`],
    // A database whose name looks like the grantee: only the real grantee (the last one) is replaced.
    [`GRANT SELECT ON \`x TO ${from}\`.* TO ${from}`, `GRANT SELECT ON \`x TO ${from}\`.* TO ${to}`],
  ])('%s', (line, expected) => {
    expect(rewriteGrant(line, from, to)).toBe(expected);
  });

  test('skips the USAGE line (it carries the password hash)', () => {
    expect(rewriteGrant(`GRANT USAGE ON *.* TO ${from} IDENTIFIED BY PASSWORD '*0D668CD5922D71207C26ABCADB38D23E8FB03BAE'`, from, to)).toBeUndefined();
    expect(rewriteGrant(`GRANT USAGE ON *.* TO ${from}`, from, to)).toBeUndefined();
  });

  test('refuses lines it does not understand, without echoing a password hash', () => {
    expect(() => rewriteGrant('GRANT SELECT ON *.* TO `someone`@`%`', from, to)).toThrow(/cannot copy the grant/);
    expect(() => rewriteGrant(`GRANT SELECT ON *.* TO ${from} IDENTIFIED BY PASSWORD '*ABC'`, from, to)).toThrow(/IDENTIFIED \.\.\./);
    try {
      rewriteGrant(`GRANT SELECT ON *.* TO ${from} IDENTIFIED BY PASSWORD '*ABC'`, from, to);
    } catch (err) {
      expect((err as Error).message).not.toContain('*ABC');
    }
  });
});

describe('scramSha256Verifier', () => {
  test('has PostgreSQL\'s format and depends on salt and password', () => {
    const salt = Buffer.alloc(16, 1);
    const v = scramSha256Verifier('pencil', salt);
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    expect(scramSha256Verifier('pencil', salt)).toBe(v);
    expect(scramSha256Verifier('pencil!', salt)).not.toBe(v);
    expect(scramSha256Verifier('pencil')).not.toBe(v);
  });

  test('matches the RFC 7677 test vector (user "user", password "pencil")', () => {
    // RFC 7677 section 3: salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations. The ServerSignature it gives,
    // HMAC(ServerKey, AuthMessage) = 6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=, proves ServerKey.
    const { createHmac } = jest.requireActual<typeof import('crypto')>('crypto');
    const v = scramSha256Verifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
    const serverKey = Buffer.from(v.split(':')[2], 'base64');
    const authMessage = 'n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,'
      + 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    expect(createHmac('sha256', serverKey).update(authMessage).digest('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });
});

describe('replaceMembers (fields rotation does not own keep their bytes)', () => {
  test('replaces only the given members, keeping spelling, types, order and whitespace', () => {
    const text = '{ "engine":"postgres", "port" : "5432", "note": 1.50, "nested": {"a": [1, "}", {"b": "\\"x"}]}, "u": "\\u00fc", "username": "app", "password": "old" }';
    const out = replaceMembers(text, { username: 'app_clone', password: 'n"e\\w' });
    expect(out).toBe('{ "engine":"postgres", "port" : "5432", "note": 1.50, "nested": {"a": [1, "}", {"b": "\\"x"}]}, "u": "\\u00fc", "username": "app_clone", "password": "n\\"e\\\\w" }');
    expect(JSON.parse(out).password).toBe('n"e\\w');
  });

  test('adds members that are missing', () => {
    expect(replaceMembers('{"a":1}', { password: 'p' })).toBe('{"a":1,"password":"p"}');
    expect(replaceMembers('{ }', { password: 'p' })).toBe('{ "password":"p"}');
  });
});
