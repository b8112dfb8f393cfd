export * from './keys-and-secrets-checks';
