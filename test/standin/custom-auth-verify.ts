/**
 * Checks a custom-authorizer CONNECT the way AWS IoT does before it calls the
 * authorizer's Lambda: the parameters after the LAST "?" of the username
 * (unknown keys, such as the SDK's metrics, are ignored), the authorizer
 * name, and, for a signing authorizer, the RSA-SHA256 signature of the token
 * against the authorizer's public key.
 */
import { createPublicKey, verify } from 'node:crypto';

export interface AuthorizerConfig {
  name: string;
  tokenKeyName: string;
  /** The token-signing public key (PEM) registered with the authorizer. */
  publicKeyPem: string;
}

export type CustomAuthOutcome = { ok: true; authorizer: string; user: string } | { ok: false; reason: string; authorizer?: string };

/** a=1&b=%2B → {a: '1', b: '+'}; '+' stays '+' (base64), unlike URLSearchParams. */
function parseParameters(text: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      parameters.set(decodeURIComponent(pair.slice(0, eq)), decodeURIComponent(pair.slice(eq + 1)));
    } catch {
      parameters.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  return parameters;
}

export function verifyCustomAuth(username: string | undefined, authorizer: AuthorizerConfig): CustomAuthOutcome {
  const at = username?.lastIndexOf('?') ?? -1;
  if (username === undefined || at === -1) return { ok: false, reason: 'no authorizer parameters in the username' };
  const parameters = parseParameters(username.slice(at + 1));
  const name = parameters.get('x-amz-customauthorizer-name');
  if (name !== authorizer.name) return { ok: false, reason: `unknown authorizer ${name ?? '(none)'}`, ...(name !== undefined ? { authorizer: name } : {}) };
  const token = parameters.get(authorizer.tokenKeyName);
  const signature = parameters.get('x-amz-customauthorizer-signature');
  if (token === undefined || signature === undefined) return { ok: false, reason: 'token or signature missing', authorizer: name };
  const valid = verify('sha256', Buffer.from(token, 'utf8'), createPublicKey(authorizer.publicKeyPem), Buffer.from(signature, 'base64'));
  return valid ? { ok: true, authorizer: name, user: username.slice(0, at) } : { ok: false, reason: 'token signature does not verify', authorizer: name };
}
