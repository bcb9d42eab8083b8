/**
 * AWS IoT custom authorizers: the authorizer name, the token and its
 * signature travel in the MQTT username, in the order aws-crt's MQTT 5
 * builders use: user, x-amz-customauthorizer-name, <tokenKeyName>=<token>,
 * x-amz-customauthorizer-signature. A signature can be made inside the
 * PKCS#11 token, so the token-signing key never leaves the device either.
 */
import type { Config } from '../config/schema.js';
import { TrustlinkError } from '../errors.js';
import { readTextFile } from '../files/read.js';
import { readValueOrFile } from '../files/value-or-file.js';
import type { TokenKeySource } from '../identity/sources.js';
import { openTokenKey } from '../pkcs11/token.js';

export interface CustomAuthFields {
  username?: string | undefined;
  authorizer: string;
  token?: { keyName: string; value: string; signature: string } | undefined;
}

export interface MqttCredentials {
  username: string;
  password?: Buffer | undefined;
}

function appendParameter(username: string, parameter: string): string {
  return `${username}${username.includes('?') ? '&' : '?'}${parameter}`;
}

export function customAuthUsername(fields: CustomAuthFields): string {
  let username = appendParameter(fields.username ?? '', `x-amz-customauthorizer-name=${encodeURIComponent(fields.authorizer)}`);
  if (fields.token !== undefined) {
    const { keyName, value, signature } = fields.token;
    username = appendParameter(username, `${keyName}=${encodeURIComponent(value)}`);
    // As aws-crt: a signature that already holds "%" is taken as encoded.
    username = appendParameter(username, `x-amz-customauthorizer-signature=${signature.includes('%') ? signature : encodeURIComponent(signature)}`);
  }
  return username;
}

/** base64(RSA-SHA256(token)) made inside the PKCS#11 token. */
export function signTokenInToken(value: string, keySource: TokenKeySource): string {
  const key = openTokenKey(keySource);
  try {
    if (key.algorithm !== 'rsa') {
      throw new TrustlinkError('CONFIG_INVALID', `the token-signing key is ${key.algorithm.toUpperCase()}; AWS IoT custom authorizers verify RSA-SHA256 signatures only`, {
        hint: 'make an RSA key in the token (e.g. hsm/softhsm.sh token DIR LABEL authkey rsa:2048) and register its public key with the authorizer',
      });
    }
    return key.signSha256(Buffer.from(value, 'utf8')).toString('base64');
  } finally {
    key.close();
  }
}

export type SigningKeyResolver = (uri: string) => TokenKeySource;

/** Builds the CONNECT username and password for --auth custom from the configuration. */
export function customAuthCredentials(config: Config, signingKey: SigningKeyResolver): MqttCredentials {
  if (config.authorizer === undefined) {
    throw new TrustlinkError('USAGE', '--authorizer is required with --auth custom (or "authorizer" in the config file)');
  }
  const tokenFields = [config.tokenKeyName, config.tokenValue, config.tokenSignature ?? config.tokenSigningKey];
  if (tokenFields.some((field) => field !== undefined) && tokenFields.some((field) => field === undefined)) {
    throw new TrustlinkError('USAGE', 'a signed custom authorizer needs --token-key-name, --token-value and one of --token-signature or --token-signing-key', {
      hint: 'for an authorizer with signing disabled, give none of them and pass --auth-username / --auth-password-file',
    });
  }
  if (config.tokenSignature !== undefined && config.tokenSigningKey !== undefined) {
    throw new TrustlinkError('USAGE', 'give either --token-signature or --token-signing-key, not both');
  }
  let token: CustomAuthFields['token'];
  if (config.tokenKeyName !== undefined && config.tokenValue !== undefined) {
    const value = readValueOrFile(config.tokenValue, 'authorizer token');
    const signature = config.tokenSigningKey !== undefined
      ? signTokenInToken(value, signingKey(config.tokenSigningKey))
      : readValueOrFile(config.tokenSignature as string, 'token signature');
    token = { keyName: config.tokenKeyName, value, signature };
  }
  const password = config.authPasswordFile !== undefined
    ? Buffer.from(readTextFile(config.authPasswordFile, 'password file', 'pass --auth-password-file with a file readable by this user').replace(/\r?\n$/, ''))
    : undefined;
  return { username: customAuthUsername({ username: config.authUsername, authorizer: config.authorizer, token }), password };
}
