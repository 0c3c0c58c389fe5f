// The cluster's trust, as the controller and the agent both need it: the names identities go by
// (system:node:NAME in system:nodes), the join token and the CA pin it carries (identity.ts), and
// the X.509 making of keys and certificate requests (x509.ts, which loads @peculiar/x509: import
// it only where certificates are made). The controller's CA, which signs, is controller/trust/.

export * from './identity';
export * from './service-account';
