export * from './managed-secret';
export * from './types';
