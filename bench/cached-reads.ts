/**
 * Benchmark 4: runtime reads with caching.
 *
 * 1,000 reads of one secret from moto's Secrets Manager by a consumer:
 *
 * - without a cache: `GetSecretValue` on every read;
 * - with an in-process TTL cache;
 * - through a model of the AWS Parameters and Secrets Lambda Extension (what
 *   `ManagedSecret.addLambdaReader` sets up): a local HTTP server, as the
 *   extension listens on localhost:2773, answering
 *   `GET /secretsmanager/get?secretId=...&versionStage=AWSCURRENT` with the
 *   `X-Aws-Parameters-Secrets-Token` header, from an in-memory cache with the
 *   extension's documented defaults: TTL 300 s (SECRETS_MANAGER_TTL, also
 *   `addLambdaReader`'s default `cacheTtl`), at most 1,000 entries
 *   (PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE), a miss or an expired entry
 *   fetched with GetSecretValue.
 *
 * `@aws-lambda-powertools/parameters` is not installed, so the cache is the
 * small `TtlCache` below. Secrets Manager calls are counted by a middleware on
 * the SDK client (each HTTP attempt, retries included).
 */
import { randomBytes } from 'crypto';
import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import { CreateSecretCommand, DeleteSecretCommand, GetSecretValueCommand, GetSecretValueCommandOutput, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BenchResult, Goal, int, ms, ratio, table } from './report';
import { msSince, round } from './stats';

const READS = 1000;
const TTL_MS = 300_000;
const MAX_ENTRIES = 1000;
/** The simulated scenario: READS reads spread evenly over this long. */
const SIMULATED_SPAN_MS = 3_600_000;

/** A TTL cache like the extension's: entries live `ttlMs` from their fetch; the oldest entry goes when full. */
export class TtlCache<T> {
  private readonly entries = new Map<string, { value: T; fetchedAt: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async get(key: string, fetch: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.fetchedAt < this.ttlMs) {
      return hit.value;
    }
    const value = await fetch();
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, { value, fetchedAt: this.now() });
    return value;
  }
}

/** The client every consumer uses, with a counter of the HTTP requests it sends to Secrets Manager. */
function countingClient(endpoint: string): { client: SecretsManagerClient; calls: () => number; reset: () => void } {
  const client = new SecretsManagerClient({ endpoint });
  let count = 0;
  client.middlewareStack.add((next) => async (args) => {
    count++;
    return next(args);
  }, { step: 'finalizeRequest', priority: 'low', name: 'benchCallCounter' });
  return { client, calls: () => count, reset: () => { count = 0; } };
}

/** The extension model: GET /secretsmanager/get on localhost, served from a TtlCache in front of GetSecretValue. */
async function startExtensionModel(client: SecretsManagerClient, token: string): Promise<{ server: Server; url: string; resetCache: () => void }> {
  let cache = new TtlCache<GetSecretValueCommandOutput>(TTL_MS, MAX_ENTRIES);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const secretId = url.searchParams.get('secretId');
    if (url.pathname !== '/secretsmanager/get' || !secretId) {
      res.writeHead(400).end('bad request');
      return;
    }
    if (req.headers['x-aws-parameters-secrets-token'] !== token) {
      res.writeHead(401).end('missing or wrong X-Aws-Parameters-Secrets-Token');
      return;
    }
    const stage = url.searchParams.get('versionStage') ?? 'AWSCURRENT';
    cache.get(`${secretId}|${stage}`, () => client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }))).then(out => {
      const { $metadata: _metadata, ...body } = out;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...body, CreatedDate: body.CreatedDate?.getTime() }));
    }, err => {
      res.writeHead(500).end((err as Error).message);
    });
  });
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    resetCache: () => {
      cache = new TtlCache<GetSecretValueCommandOutput>(TTL_MS, MAX_ENTRIES);
    },
  };
}

interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly reads: number;
  readonly calls: number;
  /** Total wall time of the reads (undefined for the simulated-clock scenario). */
  readonly totalMs?: number;
  readonly perReadMs?: number;
}

export async function run(log: (line: string) => void): Promise<BenchResult> {
  const endpoint = process.env.KMSSEC_MOTO_ENDPOINT;
  if (!endpoint) {
    throw new Error('KMSSEC_MOTO_ENDPOINT is not set: run the benchmarks with `npm run bench` (scripts/with-services.sh starts moto)');
  }
  const { client, calls, reset } = countingClient(endpoint);
  const name = `bench/cached-reads/${randomBytes(4).toString('hex')}`;
  const value = JSON.stringify({ engine: 'postgres', host: 'db.cluster-abc.us-east-1.rds.amazonaws.com', port: 5432, username: 'app', password: randomBytes(16).toString('hex'), dbname: 'app' });
  const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  const secretId = created.ARN!;
  const check = (secretString: string | undefined) => {
    if (JSON.parse(secretString ?? '{}').password === undefined) throw new Error('read a value without a password');
  };
  const getDirect = async () => (await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }))).SecretString;
  const token = randomBytes(16).toString('hex');
  const extension = await startExtensionModel(client, token);

  type Reader = () => Promise<string | undefined>;
  /** Times READS reads by a fresh reader; a first reader, thrown away, warms connections and code paths. */
  const measure = async (id: string, label: string, newReader: () => Reader): Promise<Scenario> => {
    check(await newReader()());
    const read = newReader(); // a cached reader starts empty, like a fresh container: its first read fetches
    reset();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < READS; i++) {
      check(await read());
    }
    const totalMs = msSince(t0);
    log(`${label}: ${calls()} calls, ${ms(totalMs)}`);
    return { id, label, reads: READS, calls: calls(), totalMs: round(totalMs), perReadMs: round(totalMs / READS, 4) };
  };
  const viaHttp: Reader = async () => {
    const res = await fetch(`${extension.url}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}&versionStage=AWSCURRENT`, {
      headers: { 'X-Aws-Parameters-Secrets-Token': token },
    });
    if (!res.ok) throw new Error(`extension model answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { SecretString?: string }).SecretString;
  };

  try {
    const uncached = await measure('uncached', 'no cache (GetSecretValue per read)', () => getDirect);
    const inProcess = await measure('inProcessTtlCache', 'in-process TTL cache (300 s)', () => {
      const cache = new TtlCache<string | undefined>(TTL_MS, MAX_ENTRIES);
      return () => cache.get(secretId, getDirect);
    });
    const viaExtension = await measure('extensionModel', 'extension model (localhost HTTP + TTL cache, 300 s)', () => {
      extension.resetCache();
      return viaHttp;
    });

    // Reads spread over an hour, on a simulated clock: how often the TTL makes the cache fetch again.
    let virtualNow = 0;
    const simulatedCache = new TtlCache<string | undefined>(TTL_MS, MAX_ENTRIES, () => virtualNow);
    reset();
    for (let i = 0; i < READS; i++) {
      virtualNow = (i * SIMULATED_SPAN_MS) / READS;
      check(await simulatedCache.get(secretId, getDirect));
    }
    const simulated: Scenario = { id: 'simulatedHour', label: `TTL cache, ${int(READS)} reads over 1 hour (simulated clock)`, reads: READS, calls: calls() };

    const scenarios = [uncached, inProcess, viaExtension];
    const rows = scenarios.map(s => [
      s.label, int(s.reads), int(s.calls), ms(s.totalMs!), ms(s.perReadMs!), ratio(uncached.calls, s.calls), ratio(uncached.totalMs!, s.totalMs!),
    ]);
    rows.push([simulated.label, int(simulated.reads), int(simulated.calls), 'n/a', 'n/a', ratio(READS, simulated.calls), 'n/a']);
    const markdown = [
      table(['Consumer', 'Reads', 'Secrets Manager calls', 'Total time', 'Per read', 'Calls saved (uncached/cached)', 'Speed-up (uncached/cached)'], rows, 'lrrrrrr'),
      '',
      `Cache model: the AWS Parameters and Secrets Lambda Extension's documented behaviour, an in-memory cache of up to ${int(MAX_ENTRIES)} entries with a ${TTL_MS / 1000} s TTL ` +
      '(`addLambdaReader`\'s default `cacheTtl`); a read within the TTL is served from memory, a miss or an expired entry calls GetSecretValue. ' +
      '"extension model" also pays the local HTTP round trip of the real extension (`localhost:2773/secretsmanager/get`, token header) through a small server in this process; "in-process" is the same cache inside the consumer. ' +
      'Both caches start empty, so each makes exactly one call for 1,000 reads within the TTL; over an hour it fetches again each time the TTL expires. ' +
      'Secrets Manager is moto on loopback: against the real service each uncached call also crosses the network (and is billed per 10,000 calls), so the speed-up here understates it. ' +
      'A cached reader may see the previous value for up to the TTL after a rotation.',
    ].join('\n');
    const goals: Goal[] = [];
    return {
      id: 'cachedReads',
      title: 'Runtime reads with caching',
      markdown,
      goals,
      data: {
        reads: READS,
        ttlSeconds: TTL_MS / 1000,
        maxEntries: MAX_ENTRIES,
        cacheModel: 'AWS Parameters and Secrets Lambda Extension: in-memory TTL cache (default 300 s, 1,000 entries); extension model adds a localhost HTTP hop',
        scenarios: [...scenarios, simulated],
      },
    };
  } finally {
    await new Promise(done => extension.server.close(done));
    await client.send(new DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true })).catch(() => undefined);
    client.destroy();
  }
}
