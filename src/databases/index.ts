export * from './user/database-user';
