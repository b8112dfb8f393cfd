/** Lambda entry point: creates mysql database users for CloudFormation (bundled to assets/databases/user/runtime/mysql-handler/index.js). */
import { createUserHandler } from './lambda';
import { mysqlAdmin } from './mysql-admin';

export const handler = createUserHandler(mysqlAdmin);
