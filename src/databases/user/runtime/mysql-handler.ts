/** Lambda entry point: creates mysql database users for CloudFormation (bundled to assets/databases/user/runtime/mysql-handler/index.js). */
export const handler = async (): Promise<void> => {
  throw new Error('not implemented yet');
};
