/** Lambda entry point: rotates MySQL and MariaDB secrets (bundled to assets/rotation/mysql/index.js). */
import { createHandler } from './lambda';
import { mysqlEngine } from './mysql';

export const handler = createHandler(mysqlEngine);
