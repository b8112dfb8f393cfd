/** Lambda entry point: creates postgres database users for CloudFormation (bundled to assets/databases/user/runtime/postgres-handler/index.js). */
import { createUserHandler } from './lambda';
import { postgresAdmin } from './postgres-admin';

export const handler = createUserHandler(postgresAdmin);
