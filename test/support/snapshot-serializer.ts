/**
 * Jest snapshot serializer: replaces asset hashes, and the asset bucket and key
 * names built from them, so a snapshot changes only when the template changes.
 */
const HASH = /[0-9a-f]{64}/g;
const HAS_HASH = /[0-9a-f]{64}/;

const serializer: jest.SnapshotSerializerPlugin = {
  test: (val: unknown) => typeof val === 'string' && HAS_HASH.test(val),
  serialize: (val: string) => JSON.stringify(val.replace(HASH, '[ASSET HASH]')),
};

module.exports = serializer;
