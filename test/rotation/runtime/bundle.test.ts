/**
 * The handlers as Lambda runs them: bundled by esbuild with the very
 * arguments of the build's bundle tasks (.projen/tasks.json), loaded in a
 * separate node process that can resolve nothing but the AWS SDK (as the
 * Lambda runtime provides it), and driven through whole rotations.
 */
import { execFile, execFileSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { captureRotationLogs, EngineName, recordRotationLogs, RotationHarness } from '../../support/rotation-harness';
import { describeWithServices } from '../../support/services';

const ROOT = resolve(__dirname, '..', '..', '..');
const KB = 1024;

/** The esbuild arguments of the build's bundle task for an engine (the brief's options if the task is not generated yet). */
function buildArgs(engine: EngineName): string[] {
  const tasks = join(ROOT, '.projen', 'tasks.json');
  const entry = `src/rotation/runtime/${engine}-handler.ts`;
  if (existsSync(tasks)) {
    const task = (JSON.parse(readFileSync(tasks, 'utf8')) as { tasks: Record<string, { steps?: Array<{ execArgs?: string[] }> }> })
      .tasks[`bundle:rotation/runtime/${engine}-handler`];
    const args = task?.steps?.find(s => s.execArgs?.[0] === 'esbuild')?.execArgs;
    if (args) {
      return args.slice(1);
    }
  }
  return ['--bundle', entry, '--platform=node', '--target=node22', '--external:@aws-sdk/*', '--external:pg-native', '--minify', '--outfile=index.js'];
}

/** An extra alias that takes iconv-lite out of the MySQL bundle (proposed for .projenrc.ts). */
const ICONV_STUB = '--alias:iconv-lite=./src/rotation/runtime/stubs/iconv-lite.ts';

describeWithServices('bundled rotation handlers', () => {
  captureRotationLogs();
  const dir = mkdtempSync(join(tmpdir(), 'rotation-bundle-'));

  beforeAll(() => {
    // Like the Lambda runtime: the AWS SDK v3 is there, nothing else (pg, mysql2 and Powertools must be bundled).
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules', '@aws-sdk'), join(dir, 'node_modules', '@aws-sdk'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function bundle(engine: EngineName, extra: string[]): string {
    const outfile = join(dir, `${engine}${extra.length ? '-extra' : ''}`, 'index.js');
    const args = [...buildArgs(engine).filter(a => !a.startsWith('--outfile=') && !a.startsWith('--log-level')), ...extra, `--outfile=${outfile}`, '--log-level=error'];
    execFileSync(join(ROOT, 'node_modules', '.bin', 'esbuild'), args, { cwd: ROOT, stdio: 'pipe' });
    return outfile;
  }

  /** One invocation of the bundle's `handler` in a fresh node process. */
  function invokeBundle(file: string) {
    return (event: object, env: Readonly<Record<string, string | undefined>>) => new Promise<void>((done, fail) => {
      const script = `require(${JSON.stringify(file)}).handler(JSON.parse(process.env.ROTATION_EVENT)).then(
        () => process.exit(0), (e) => { process.stderr.write('HANDLER ERROR: ' + e.message + '\\n'); process.exit(1); });`;
      const childEnv: NodeJS.ProcessEnv = { ...process.env, ROTATION_EVENT: JSON.stringify(event), NODE_PATH: '' };
      for (const [key, value] of Object.entries(env)) {
        if (value === undefined) delete childEnv[key]; else childEnv[key] = value;
      }
      execFile(process.execPath, ['-e', script], { env: childEnv, cwd: dir, timeout: 30_000 }, (error, stdout, stderr) => {
        recordRotationLogs(stdout.split('\n').filter(l => l.startsWith('{')));
        recordRotationLogs(stderr.split('\n').filter(l => l.startsWith('{')));
        if (error) {
          fail(new Error(/HANDLER ERROR: (.*)/.exec(stderr)?.[1] ?? stderr.trim()));
        } else {
          done();
        }
      });
    });
  }

  test.each([
    ['postgres', [], 500],
    ['mysql', [], 500],
    ['mysql', [ICONV_STUB], 420],
  ] as const)('%s, build arguments plus %j: under %d KB, loads with only the AWS SDK around, rotates a secret twice', async (engine, extra, maxKb) => {
    const file = bundle(engine, [...extra]);
    const size = statSync(file).size;
    console.log(`${engine} bundle${extra.length ? ` with ${extra.join(' ')}` : ''}: ${(size / KB).toFixed(1)} KB`);
    expect(size).toBeLessThan(maxKb * KB);

    const h = await RotationHarness.setup({ engine, strategy: 'alternating-users' });
    try {
      h.invoker = invokeBundle(file);
      const first = await h.rotate();
      await h.assertConverged(first.token);
      const second = await h.rotate();
      const end = await h.assertConverged(second.token);
      expect(end.current.username).toBe(h.username);
      // A failure in the bundle is reported with the same clear message.
      await expect(h.invoke('finishSecret', '99999999-0000-4000-8000-000000000000')).rejects.toThrow(/has no version 99999999-0000-4000-8000-000000000000: finishSecret/);
      await h.assertNoPasswordLeaked();
    } finally {
      await h.cleanup();
    }
  });
});
