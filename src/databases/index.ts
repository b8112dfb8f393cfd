export * from './user/database-user';
export * from './master-user';
export * from './managed-database';
