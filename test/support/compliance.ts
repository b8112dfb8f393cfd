/**
 * One place that answers "is this stack compliant?": every violation from the
 * cdk-nag packs we promise (AwsSolutions, HIPAA Security, NIST 800-53 R5,
 * PCI DSS 3.2.1) and our own KeysAndSecretsChecks, plus every cfn-lint error
 * and warning of the synthesized template. Every construct's tests use it, and
 * so does `npm run example`.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { KeysAndSecretsChecks } from '../../src/nag';

export interface Finding {
  /** The pack or tool that reported it, e.g. `AwsSolutions` or `cfn-lint`. */
  readonly source: string;
  /** Rule ID, e.g. `AwsSolutions-IAM5` or `E3012`. */
  readonly rule: string;
  /** The logical ID (or construct path) of the offending resource. */
  readonly resource: string;
  readonly message: string;
  /** `error` or `warning`. cdk-nag violations are always errors. */
  readonly level: 'error' | 'warning';
}

export interface ComplianceReport {
  /** Findings per cdk-nag pack name; every pack is present, possibly with []. */
  readonly nag: Record<string, Finding[]>;
  readonly cfnLint: Finding[];
  /** Everything above in one list. */
  readonly all: Finding[];
}

/** The pack names, in the order they are reported. */
export const PACK_NAMES = ['AwsSolutions', 'HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321', 'KeysAndSecrets'] as const;

/** The four packs we promise, and our own. */
export function nagPacks(): NagPack[] {
  return [
    new AwsSolutionsChecks(),
    new HIPAASecurityChecks(),
    new NIST80053R5Checks(),
    new PCIDSS321Checks(),
    new KeysAndSecretsChecks(),
  ];
}

/** Runs every nag pack over the stack. */
export function nagFindings(stack: Stack): Record<string, Finding[]> {
  const result: Record<string, Finding[]> = {};
  for (const pack of nagPacks()) {
    const report = pack.validateScope(stack);
    const findings: Finding[] = [];
    for (const v of report.violations) {
      for (const r of v.violatingResources) {
        findings.push({
          source: pack.readPackName,
          rule: v.ruleName,
          resource: r.resourceLogicalId ?? r.constructPath ?? '?',
          message: v.description,
          level: 'error',
        });
      }
    }
    result[pack.readPackName] = findings;
  }
  return result;
}

interface CfnLintMatch {
  readonly Rule: { readonly Id: string };
  readonly Level: string;
  readonly Message: string;
  readonly Location?: { readonly Path?: Array<string | number> };
}

/**
 * Runs cfn-lint (the real one, from PyPI) on a template and returns its errors
 * and warnings. Informational messages are ignored. Throws if cfn-lint is not
 * installed: a missing linter must never look like a clean template.
 */
export function cfnLint(template: unknown, regions: string[] = ['us-east-1']): Finding[] {
  const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  try {
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(template));
    const proc = spawnSync('cfn-lint', ['--format', 'json', '--regions', ...regions, '--', file], { encoding: 'utf-8' });
    if (proc.error || proc.stdout === '' && proc.status !== 0) {
      throw new Error(`cfn-lint could not run (${proc.error?.message ?? proc.stderr}). Install it with: pip install cfn-lint`);
    }
    const matches = JSON.parse(proc.stdout || '[]') as CfnLintMatch[];
    return matches
      .filter(m => m.Level === 'Error' || m.Level === 'Warning')
      .map(m => ({
        source: 'cfn-lint',
        rule: m.Rule.Id,
        resource: String(m.Location?.Path?.[1] ?? '?'),
        message: m.Message,
        level: m.Level === 'Error' ? 'error' as const : 'warning' as const,
      }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Every nag violation and every cfn-lint error or warning for the stack.
 * Synthesizes the stack's template once.
 */
export function checkCompliance(stack: Stack): ComplianceReport {
  const nag = nagFindings(stack);
  const template = Template.fromStack(stack).toJSON();
  const region = stack.region && !stack.region.startsWith('${') ? stack.region : 'us-east-1';
  const lint = cfnLint(template, [region]);
  return { nag, cfnLint: lint, all: [...Object.values(nag).flat(), ...lint] };
}

/**
 * Findings no VPC-attached Lambda can avoid, each with its reason (README,
 * "Findings we cannot fix"). They belong to a VPC Lambda's
 * LoggingAndNetworkPolicy (the rotation function's, or the example
 * consumer's), which holds nothing else. They would be
 * acknowledged with `Validations.of(policy).acknowledge({ id:
 * 'AwsSolutions-IAM5[Resource::*]', ... })`, but aws-cdk-lib 2.257 rejects
 * bracketed IDs containing '::' (2.271+ accepts them), and the library
 * itself suppresses nothing.
 */
export const UNFIXABLE_FINDINGS = [
  {
    rule: /^AwsSolutions-IAM5\[Resource::\*\]$/,
    resource: /\/LoggingAndNetworkPolicy\/Resource$/,
    reason: 'ec2:DescribeNetworkInterfaces only works on "*"; the other ENI actions are limited to the database VPC by an ec2:Vpc condition.',
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:logs:[^:]+:\d+:log-group:(\/cdk-kms-secrets\/[^:*]+|RDSOSMetrics):log-stream:\*\]$/,
    resource: /\/LoggingAndNetworkPolicy\/Resource$/,
    reason: 'The service (Lambda, ECS, VPC Flow Logs, RDS Enhanced Monitoring) names the log streams of the log group it writes; the group itself is named exactly.',
  },
];

/** The reason a finding is one of the documented unfixable ones, or undefined. */
export function unfixableReason(f: Finding): string | undefined {
  return UNFIXABLE_FINDINGS.find(u => u.rule.test(f.rule) && u.resource.test(f.resource))?.reason;
}

/** Findings that are not among the documented unfixable ones. */
export function unexpectedFindings(findings: Finding[]): Finding[] {
  return findings.filter(f => unfixableReason(f) === undefined);
}

/** A readable one-finding-per-line summary, for assertion messages. */
export function describeFindings(findings: Finding[]): string {
  return findings.map(f => `${f.source} ${f.rule} on ${f.resource}: ${f.message.split('\n')[0]}`).join('\n');
}
