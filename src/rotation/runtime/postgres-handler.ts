/** Lambda entry point: rotates PostgreSQL secrets (bundled to assets/rotation/postgres/index.js). */
import { createHandler } from './lambda';
import { postgresEngine } from './postgres';

export const handler = createHandler(postgresEngine);
