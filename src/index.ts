/**
 * cdk-kms-secrets: KMS customer-managed keys and Secrets Manager secrets,
 * kept apart and joined by least-privilege grants.
 */
export * from './keys';
export * from './secrets';
export * from './rotation';
export * from './grants';
export * from './nag';
export * from './monitoring';
export * from './report';
export * from './databases';
