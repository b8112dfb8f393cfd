export * from './customer-managed-key';
export * from './replica';
export { KeyRolesProps, KeyGrantOptions, KeyUseGrantOptions } from './key-roles';
export { KeyOperation } from './roles';
