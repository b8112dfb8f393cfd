import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DatabaseEngine, ManagedSecret, Rotation, RotationSchedule } from '../../src';

export const ENV = { account: '111111111111', region: 'eu-west-1' };

export interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.IVpc;
}

export function fixture(): Fixture {
  const app = new App();
  const stack = new Stack(app, 'Monitored', { env: ENV });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-12345678',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-11111111', 'subnet-22222222'],
  });
  return { app, stack, vpc };
}

export const postgres = { engine: DatabaseEngine.POSTGRES, host: 'payments.cluster-abc.eu-west-1.rds.amazonaws.com', username: 'app', dbname: 'payments' };

/** A PostgreSQL secret rotated every `days` days by the shared rotation function. */
export function rotatedSecret(f: Fixture, id: string, days = 30, secretName?: string): ManagedSecret {
  return new ManagedSecret(f.stack, id, {
    secretName,
    credentials: { ...postgres, username: id.toLowerCase() },
    rotation: Rotation.postgresSingleUser({ vpc: f.vpc, schedule: RotationSchedule.after(Duration.days(days)) }),
  });
}

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }>;

/** The resources of a type whose logical ID matches. */
export function resources(stack: Stack, type: string, id: RegExp = /.*/): Resources {
  const all = Template.fromStack(stack).findResources(type) as Resources;
  return Object.fromEntries(Object.entries(all).filter(([name]) => id.test(name)));
}

/** The one resource of a type whose logical ID matches. */
export function one(stack: Stack, type: string, id: RegExp): { logicalId: string; Properties: Record<string, any>; DependsOn?: string[] } {
  const found = Object.entries(resources(stack, type, id));
  if (found.length !== 1) throw new Error(`expected one ${type} matching ${id}, found ${found.map(([k]) => k).join(', ') || 'none'}`);
  const [name, r] = found[0];
  return { logicalId: name, Properties: r.Properties, DependsOn: r.DependsOn };
}

/** The logical ID of the one resource of a type whose logical ID matches. */
export function logicalId(stack: Stack, type: string, id: RegExp): string {
  return one(stack, type, id).logicalId;
}
