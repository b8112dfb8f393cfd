export * from './rotation';
export * from './rotation-function';
export * from './schedule';
