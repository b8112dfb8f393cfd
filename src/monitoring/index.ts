export * from './keys-and-secrets-monitoring';
