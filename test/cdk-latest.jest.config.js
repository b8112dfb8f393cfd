// jest configuration of the aws-cdk-lib matrix (scripts/cdk-latest.sh): the project's own
// configuration (package.json "jest"), with aws-cdk-lib taken from .cdk-latest/ and constructs
// kept from node_modules/ (one construct tree). The real-database runtime tests are not run twice.
const path = require('path');
const root = path.resolve(__dirname, '..');
const base = require(path.join(root, 'package.json')).jest;
const latest = path.join(root, '.cdk-latest', 'node_modules', 'aws-cdk-lib');

module.exports = {
  ...base,
  rootDir: root,
  moduleNameMapper: {
    ...(base.moduleNameMapper ?? {}),
    '^aws-cdk-lib$': latest,
    '^aws-cdk-lib/(.*)$': `${latest}/$1`,
    '^constructs$': path.join(root, 'node_modules', 'constructs'),
  },
  testPathIgnorePatterns: [...(base.testPathIgnorePatterns ?? []), '/test/rotation/runtime/', '/test/support/services\\.test\\.ts$', '/test/api/'],
  reporters: ['default'],
};
