// Loaded with `node -r` (scripts/cdk-latest.sh): every require of aws-cdk-lib (ours, cdk-nag's, the
// example's) gets the copy in .cdk-latest/ instead of the devDependency, and constructs stays the one
// copy of node_modules/, so a single construct tree is built. Nothing else changes.
const Module = require('module');
const path = require('path');

const root = path.resolve(__dirname, '..');
const latest = path.join(root, '.cdk-latest', 'node_modules');
const original = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === 'aws-cdk-lib' || request.startsWith('aws-cdk-lib/')) {
    return original.call(this, request, { ...parent, paths: [latest], filename: path.join(latest, 'x.js'), id: 'x' }, ...rest);
  }
  if (request === 'constructs') {
    return original.call(this, request, { ...parent, paths: [path.join(root, 'node_modules')], filename: path.join(root, 'x.js'), id: 'x' }, ...rest);
  }
  return original.call(this, request, parent, ...rest);
};
