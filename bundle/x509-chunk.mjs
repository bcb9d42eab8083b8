// The entry of dist/x509.cjs (see the chunks in bundle/build.mjs): the
// X.509 and ASN.1 libraries that hsm csr and hsm import-cert use.
import 'reflect-metadata';

export * as x509 from '@peculiar/x509';
export * as asn1Schema from '@peculiar/asn1-schema';
export * as asn1X509 from '@peculiar/asn1-x509';
