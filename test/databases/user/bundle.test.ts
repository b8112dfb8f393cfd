/**
 * The provisioning handlers as Lambda runs them: bundled with the very
 * arguments of the build's bundle tasks (.projen/tasks.json), loaded in a
 * node process that can resolve nothing but the AWS SDK, reading moto with
 * their own SDK client, answering CloudFormation by an HTTP PUT to a local
 * server, and logging with the real Powertools logger (its lines are checked
 * for passwords).
 */
import { execFile, execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'fs';
import { createServer, IncomingMessage } from 'http';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { ENGINES, EngineName, services, UserHarness } from './user-harness';
import { describeWithServices } from '../../support/services';

const ROOT = resolve(__dirname, '..', '..', '..');

function buildArgs(engine: EngineName): string[] {
  const task = (JSON.parse(readFileSync(join(ROOT, '.projen', 'tasks.json'), 'utf8')) as { tasks: Record<string, { steps?: Array<{ execArgs?: string[] }> }> })
    .tasks[`bundle:databases/user/runtime/${engine}-handler`];
  const args = task?.steps?.find(s => s.execArgs?.[0] === 'esbuild')?.execArgs;
  if (!args) throw new Error(`no bundle task for databases/user/runtime/${engine}-handler in .projen/tasks.json (run npx projen)`);
  return args.slice(1);
}

describeWithServices('bundled DatabaseUser handlers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'database-user-bundle-'));
  beforeAll(() => {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules', '@aws-sdk'), join(dir, 'node_modules', '@aws-sdk'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(ENGINES)('%s: under 500 KB, creates the user and answers CloudFormation over HTTP, logs without passwords', async engine => {
    const outfile = join(dir, engine, 'index.js');
    const args = [...buildArgs(engine).filter(a => !a.startsWith('--outfile=') && !a.startsWith('--log-level')), `--outfile=${outfile}`, '--log-level=error'];
    execFileSync(join(ROOT, 'node_modules', '.bin', 'esbuild'), args, { cwd: ROOT, stdio: 'pipe' });
    expect(statSync(outfile).size).toBeLessThan(500 * 1024);

    const h = await UserHarness.setup({ engine });
    const answers: Array<{ url: string; body: Record<string, unknown> }> = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', c => (body += c));
      req.on('end', () => {
        answers.push({ url: req.url ?? '', body: JSON.parse(body) });
        res.end();
      });
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const event = { ...h.event('Create'), ResponseURL: `http://127.0.0.1:${port}/response?X-Amz-Signature=abc` };
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...h.env,
        NODE_PATH: '',
        CFN_EVENT: JSON.stringify(event),
        AWS_ENDPOINT_URL_SECRETS_MANAGER: services().motoEndpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      };
      const script = `require(${JSON.stringify(outfile)}).handler(JSON.parse(process.env.CFN_EVENT)).then(() => process.exit(0), e => { console.error('HANDLER ERROR ' + e.message); process.exit(1); });`;
      const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((done, fail) => {
        execFile(process.execPath, ['-e', script], { env, cwd: dir, timeout: 60_000 }, (error, out, err) => (error ? fail(new Error(`${error.message}\n${err}`)) : done({ stdout: out, stderr: err })));
      });
      expect(answers).toHaveLength(1);
      expect(answers[0].url).toBe('/response?X-Amz-Signature=abc');
      expect(answers[0].body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `user:${h.username}`, Data: { Username: h.username }, RequestId: event.RequestId });
      expect(await h.logsIn(h.username, h.userPassword)).toBe(true);
      // The real logger's lines: JSON, our service name, no password anywhere.
      const lines = (stdout + stderr).split('\n').filter(l => l.startsWith('{'));
      expect(lines.some(l => l.includes('"service":"cdk-kms-secrets-database-user"') && l.includes('request succeeded'))).toBe(true);
      h.logs.push(...lines, stdout, stderr);
      h.responses.push(answers[0].body as never);
      h.assertNoPasswordLeaked();
    } finally {
      await new Promise(r => server.close(r));
      await h.close();
    }
  });
});
