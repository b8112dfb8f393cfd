export * from './customer-managed-key';
export * from './replica';
export * from './types';
export { KeyOperation } from './roles';
