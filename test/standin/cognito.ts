/**
 * Cognito GetCredentialsForIdentity as the service answers it (JSON 1.1):
 * known identities get fresh temporary credentials, which the stand-in's
 * websocket check then accepts; unknown ones get ResourceNotFoundException.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KnownCredentials } from './sigv4-verify.js';

export interface CognitoIdentity {
  /** Provider → token the identity must present, if any. */
  logins?: Record<string, string>;
  /** Lifetime of the credentials handed out. */
  lifetimeMs: number;
}

export interface CognitoService {
  identities: Map<string, CognitoIdentity>;
  requests: number;
  handle(request: IncomingMessage, response: ServerResponse): void;
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
}

const sameLogins = (wanted: Record<string, string> | undefined, given: Record<string, string> | undefined): boolean =>
  JSON.stringify(Object.entries(wanted ?? {}).sort()) === JSON.stringify(Object.entries(given ?? {}).sort());

export function createCognitoService(issue: (lifetimeMs: number) => KnownCredentials): CognitoService {
  const service: CognitoService = {
    identities: new Map(),
    requests: 0,
    handle(request, response) {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
        service.requests++;
        if (request.method !== 'POST' || request.headers['x-amz-target'] !== 'AWSCognitoIdentityService.GetCredentialsForIdentity' || request.headers['content-type'] !== 'application/x-amz-json-1.1') {
          reply(response, 400, { __type: 'UnknownOperationException', message: 'unknown operation' });
          return;
        }
        let input: { IdentityId?: string; Logins?: Record<string, string> };
        try {
          input = JSON.parse(body) as typeof input;
        } catch {
          reply(response, 400, { __type: 'SerializationException', message: 'body is not JSON' });
          return;
        }
        const identity = input.IdentityId !== undefined ? service.identities.get(input.IdentityId) : undefined;
        if (identity === undefined) {
          reply(response, 400, { __type: 'ResourceNotFoundException', message: `Identity '${input.IdentityId}' not found.` });
          return;
        }
        if (!sameLogins(identity.logins, input.Logins)) {
          reply(response, 400, { __type: 'NotAuthorizedException', message: 'Invalid login token.' });
          return;
        }
        const credentials = issue(identity.lifetimeMs);
        reply(response, 200, {
          IdentityId: input.IdentityId,
          Credentials: {
            AccessKeyId: credentials.accessKeyId,
            SecretKey: credentials.secretAccessKey,
            SessionToken: credentials.sessionToken,
            Expiration: Math.floor((credentials.expiration as Date).getTime() / 1000),
          },
        });
      });
    },
  };
  return service;
}
