export * from './keys-and-secrets-monitoring';
export * from './replica-monitoring';
