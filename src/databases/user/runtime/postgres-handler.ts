/** Lambda entry point: creates postgres database users for CloudFormation (bundled to assets/databases/user/runtime/postgres-handler/index.js). */
export const handler = async (): Promise<void> => {
  throw new Error('not implemented yet');
};
