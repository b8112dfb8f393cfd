/**
 * `npx projen rosetta` (run by `npm test`, after compile): every TypeScript code sample of the
 * README, of docs/*.md and of the doc comments must compile under jsii-rosetta's strict mode,
 * as Construct Hub compiles them before it shows them in Python, Java, C# and Go.
 *
 *   1. writes rosetta/default.ts-fixture (the code around every sample: see CONTRIBUTING.md)
 *      from the assembly's exports, so a new export is usable in a sample without editing it;
 *   2. compiles and translates every sample (README and doc comments from .jsii, docs/*.md);
 *   3. writes .jsii.tabl.json (the translations shipped in the npm package), docs/readme-python.md
 *      and docs/readme-java.md (the README's samples in Python and Java), and
 *      scripts/smoke/readme_example.py (the README's short example in Python, run by the smoke test);
 *   4. exits 1 naming every sample that does not compile, with the compiler's message.
 *
 *   ts-node --project test/tsconfig.json scripts/rosetta.ts
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import {
  LanguageTablet, RosettaTranslator, TargetLanguage, TypeScriptSnippet, SnippetParameters, formatLocation,
} from 'jsii-rosetta';
// Not exported by jsii-rosetta (its package.json "exports"): how `jsii-rosetta extract` reads snippets,
// applies fixtures and keys translations. Loaded by absolute path; jsii-rosetta is pinned by jsii's version.
const ROSETTA_LIB = path.dirname(require.resolve('jsii-rosetta'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const internal = (file: string) => require(path.join(ROSETTA_LIB, file));
const { fixturize } = internal('fixtures');
const { extractTypescriptSnippetsFromMarkdown } = internal('markdown/extract-snippets');
const { loadAssemblies, allTypeScriptSnippets } = internal('jsii/assemblies');
const { snippetKey } = internal('tablets/key');

const ROOT = path.resolve(__dirname, '..');
const FIXTURE = path.join(ROOT, 'rosetta', 'default.ts-fixture');

/** aws-cdk-lib modules every sample may use without importing them (`ec2.Vpc`, `rds.DatabaseInstance`...). */
export const CDK_MODULES: Record<string, string> = {
  ec2: 'aws-cdk-lib/aws-ec2',
  ecs: 'aws-cdk-lib/aws-ecs',
  events: 'aws-cdk-lib/aws-events',
  iam: 'aws-cdk-lib/aws-iam',
  kms: 'aws-cdk-lib/aws-kms',
  lambda: 'aws-cdk-lib/aws-lambda',
  logs: 'aws-cdk-lib/aws-logs',
  rds: 'aws-cdk-lib/aws-rds',
  s3: 'aws-cdk-lib/aws-s3',
  secretsmanager: 'aws-cdk-lib/aws-secretsmanager',
  sns: 'aws-cdk-lib/aws-sns',
  sqs: 'aws-cdk-lib/aws-sqs',
};
/** Names of aws-cdk-lib's root module a sample may use without importing them. */
export const CDK_CORE = [
  'App', 'Arn', 'ArnFormat', 'Aspects', 'Aws', 'CfnOutput', 'CustomResource', 'Duration', 'Environment', 'Fn',
  'RemovalPolicy', 'SecretValue', 'Size', 'Stack', 'StackProps', 'Stage', 'Tags', 'Token', 'Validations',
];
/** cdk-nag's packs. */
export const NAG = ['AwsSolutionsChecks', 'HIPAASecurityChecks', 'NIST80053R5Checks', 'PCIDSS321Checks'];

/** Variables every sample may use without declaring them (declare them again in the sample to change the type). */
export const VARIABLES: Record<string, string> = {
  app: '_cdk.App',
  stack: '_cdk.Stack',
  vpc: '_ec2.IVpc',
  cluster: '_rds.DatabaseCluster',
  instance: '_rds.DatabaseInstance',
  proxy: '_rds.DatabaseProxy',
  key: '_lib.CustomerManagedKey',
  secret: '_lib.ManagedSecret',
  masterSecret: '_lib.ManagedSecret',
  admin: '_iam.IRole',
  securityTeam: '_iam.IRole',
  appRole: '_iam.Role',
  loaderRole: '_iam.IRole',
  opsRole: '_iam.IRole',
  fn: '_lambda.Function',
  paymentsFn: '_lambda.Function',
  taskDefinition: '_ecs.FargateTaskDefinition',
  monitoring: '_lib.KeysAndSecretsMonitoring',
  replicaKey: '_kms.IKey',
  arn: 'string',
  keyArn: 'string',
  replicaArn: 'string',
  replicaSecret: '_secretsmanager.ISecret',
};

function alias(name: string): string {
  return `_${name}`;
}

/** The fixture's hidden imports, under `_` names. */
function fixtureImports(): string[] {
  return [
    "import * as _cdk from 'aws-cdk-lib';",
    ...Object.entries(CDK_MODULES).map(([name, mod]) => `import * as ${alias(name)} from '${mod}';`),
    "import * as _constructs from 'constructs';",
    "import * as _nag from 'cdk-nag';",
    "import * as _lib from 'cdk-kms-secrets';",
  ];
}

/** The names a sample may use, aliased into the global scope (a sample's own import or declaration shadows them). */
function fixtureGlobals(libraryExports: string[]): string {
  return [
    'declare global {',
    ...Object.keys(CDK_MODULES).map(name => `  export import ${name} = ${alias(name)};`),
    ...CDK_CORE.map(name => `  export import ${name} = _cdk.${name};`),
    '  export import Construct = _constructs.Construct;',
    '  export import IConstruct = _constructs.IConstruct;',
    ...NAG.map(name => `  export import ${name} = _nag.${name};`),
    ...libraryExports.map(name => `  export import ${name} = _lib.${name};`),
    ...Object.entries(VARIABLES).map(([name, type]) => `  const ${name}: ${type};`),
    '}',
  ].join('\n');
}

/** rosetta/default.ts-fixture: what `jsii-rosetta extract` (and Construct Hub) wraps around every sample. */
export function renderFixture(libraryExports: string[]): string {
  return [
    '// Generated by scripts/rosetta.ts from the assembly: do not edit (see CONTRIBUTING.md, "Code samples").',
    '// Every name is global, so a sample that imports or declares the same name simply shadows it.',
    ...fixtureImports(),
    '',
    fixtureGlobals(libraryExports),
    '',
    'class Fixture extends _cdk.Stack {',
    '  constructor(scope: _constructs.Construct, id: string) {',
    '    super(scope, id);',
    '    /// here',
    '  }',
    '}',
    '',
  ].join('\n');
}

function libraryExportsOf(assemblyFile: string): string[] {
  const assembly = JSON.parse(readFileSync(assemblyFile, 'utf-8'));
  return Object.values<{ name: string; namespace?: string }>(assembly.types)
    .filter(t => !t.namespace)
    .map(t => t.name)
    .sort();
}

function snippetLine(s: TypeScriptSnippet): number {
  return (s.location.field as { line?: number } | undefined)?.line ?? 0;
}

async function main() {
  const t0 = Date.now();
  const assemblyFile = path.join(ROOT, '.jsii');
  if (!existsSync(assemblyFile)) {
    console.error('rosetta: .jsii is missing: run `npx projen compile` first (the samples are read from the assembly).');
    process.exit(1);
  }
  const libraryExports = libraryExportsOf(assemblyFile);
  writeFileSync(FIXTURE, renderFixture(libraryExports));

  const assemblies = loadAssemblies([ROOT], false);
  const fromAssembly: TypeScriptSnippet[] = Array.from(await allTypeScriptSnippets(assemblies, false));
  const dependencies = fromAssembly[0]?.compilationDependencies;
  const fromDocs: TypeScriptSnippet[] = [];
  const docsDir = path.join(ROOT, 'docs');
  for (const file of readdirSync(docsDir).filter(f => f.endsWith('.md') && !f.startsWith('readme-')).sort()) {
    const md = readFileSync(path.join(docsDir, file), 'utf-8');
    const snippets: TypeScriptSnippet[] = extractTypescriptSnippetsFromMarkdown(md, { api: 'file', fileName: `docs/${file}` }, true);
    for (const s of snippets) {
      const withDir = { ...s, parameters: { ...s.parameters, [SnippetParameters.$PROJECT_DIRECTORY]: ROOT } };
      fromDocs.push({ ...fixturize(withDir), compilationDependencies: dependencies });
    }
  }
  const all = [...fromAssembly, ...fromDocs];

  const translator = new RosettaTranslator({
    assemblies: assemblies.map((a: { assembly: unknown }) => a.assembly),
    includeCompilerDiagnostics: true,
  });
  // One TypeScript program per sample (rosetta's default): the fixture's global aliases cannot be
  // declared twice in one program, so rosetta's batch mode (--batch) does not apply.
  const result = await translator.translateAll(all, { addToTablet: true });

  // The translations shipped with the package (Construct Hub reads them): the assembly's snippets only.
  const shipped = new LanguageTablet();
  for (const s of fromAssembly) {
    const t = translator.tablet.tryGetSnippet(keyOf(translator, s));
    if (t) shipped.addSnippets(t);
  }
  await shipped.save(path.join(ROOT, '.jsii.tabl.json'));

  // A sample fails if it did not compile, or if a strict-mode diagnostic (an error) names it.
  const failing = new Map<string, string[]>();
  for (const s of all) {
    const t = translator.tablet.tryGetSnippet(keyOf(translator, s));
    if (!t || t.snippet.didCompile !== true) failing.set(formatLocation(s.location), []);
  }
  const unattributed: string[] = [];
  for (const d of result.diagnostics.filter(x => x.isError)) {
    const where = all.map(s => formatLocation(s.location)).find(k => d.formattedMessage.includes(removeSlashes(k)));
    if (where) failing.set(where, [...(failing.get(where) ?? []), d.formattedMessage.trim()]);
    else unattributed.push(d.formattedMessage.trim());
  }

  writeTranslations(translator, fromAssembly);

  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`rosetta: ${all.length} samples (${fromAssembly.length} in the README and doc comments, ${fromDocs.length} in docs/), `
    + `${all.length - failing.size} compile in strict mode, ${failing.size} fail; ${seconds} s`);
  if (failing.size > 0 || unattributed.length > 0) {
    unattributed.forEach(m => console.error(`\nrosetta: ERROR: ${m}`));
    for (const [where, messages] of failing) {
      console.error(`\nrosetta: FAILS: ${where}`);
      messages.forEach(m => console.error(m.split('\n').map(l => `  ${l}`).join('\n')));
    }
    console.error('\nrosetta: make each sample compile against rosetta/default.ts-fixture (CONTRIBUTING.md, "Code samples").');
    process.exit(1);
  }
}

/** As jsii-rosetta names a sample's file (`docs/x.md-L7` -> `docs.x.md-L7`). */
function removeSlashes(x: string): string {
  return x.replace(/\//g, '.');
}

function keyOf(_translator: RosettaTranslator, s: TypeScriptSnippet): string {
  return snippetKey(s);
}

/** The README's samples in Python and Java, under the heading each follows; the short example for the smoke test. */
function writeTranslations(translator: RosettaTranslator, fromAssembly: TypeScriptSnippet[]) {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf-8').split('\n');
  const headingBefore = (line: number) => {
    for (let i = line - 1; i >= 0; i--) if (/^#{1,4} /.test(readme[i])) return readme[i].replace(/^#+ /, '');
    return '';
  };
  const readmeSnippets = fromAssembly
    .filter(s => s.location.api.api === 'moduleReadme')
    .sort((a, b) => snippetLine(a) - snippetLine(b));
  for (const [language, fence, file] of [
    [TargetLanguage.PYTHON, 'python', 'readme-python.md'],
    [TargetLanguage.JAVA, 'java', 'readme-java.md'],
  ] as const) {
    const out = [
      `# The README's samples in ${fence === 'python' ? 'Python' : 'Java'}`,
      '',
      '<!-- Generated by scripts/rosetta.ts (jsii-rosetta, strict mode) from README.md: do not edit. -->',
      '',
      'Translated by jsii-rosetta from the TypeScript samples of [the README](../README.md), each under the heading it follows.',
      'Names a sample uses without defining them (`vpc`, `cluster`, `appRole`...) are described in CONTRIBUTING.md ("Code samples").',
      '',
    ];
    for (const s of readmeSnippets) {
      const t = translator.tablet.tryGetSnippet(keyOf(translator, s));
      const code = t?.get(language)?.source;
      if (!code) continue;
      out.push(`## ${headingBefore(snippetLine(s))}`, '', `\`\`\`${fence}`, code.trimEnd(), '```', '');
    }
    writeFileSync(path.join(ROOT, 'docs', file), out.join('\n'));
  }

  const shortLine = readme.findIndex(l => l === '## A short example') + 1;
  const short = readmeSnippets.find(s => snippetLine(s) > shortLine);
  const python = short && translator.tablet.tryGetSnippet(keyOf(translator, short))?.get(TargetLanguage.PYTHON)?.source;
  if (!python) throw new Error('rosetta: no Python translation of the README\'s "A short example" sample');
  writeFileSync(path.join(ROOT, 'scripts', 'smoke', 'readme_example.py'), [
    '# Generated by scripts/rosetta.ts: the README\'s "A short example", translated to Python by jsii-rosetta.',
    '# Do not edit: change the README and run `npx projen rosetta`. scripts/smoke/app.py runs it and checks the template.',
    python.trimEnd(),
    '',
  ].join('\n'));
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
