/**
 * Where the local MQTT endpoint listens: `unix:/PATH`, or loopback TCP
 * (`tcp://127.0.0.1:PORT`, `tcp://[::1]:PORT`). The endpoint has no TLS and
 * no passwords: file permissions on the socket, or the loopback interface,
 * are the access control, so any other address is refused.
 */
export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: '127.0.0.1' | '::1'; port: number };

const LOOPBACK: Record<string, '127.0.0.1' | '::1'> = { '127.0.0.1': '127.0.0.1', '[::1]': '::1', localhost: '127.0.0.1' };

/** What is wrong with an address, in words, or undefined when it is fine. */
export function describeListenAddressProblem(address: string): string | undefined {
  const parsed = tryParse(address);
  return typeof parsed === 'string' ? parsed : undefined;
}

export function parseListenAddress(address: string): ListenAddress {
  const parsed = tryParse(address);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

function tryParse(address: string): ListenAddress | string {
  if (address.startsWith('unix:')) {
    const path = address.slice('unix:'.length);
    return path.startsWith('/') ? { kind: 'unix', path } : `"${address}": a unix socket needs an absolute path, e.g. unix:/run/trustlink/mqtt.sock`;
  }
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(address);
  if (tcp === null) return `"${address}": must be unix:/PATH or tcp://127.0.0.1:PORT or tcp://[::1]:PORT`;
  const [, hostPart = '', portText = ''] = tcp;
  const host = LOOPBACK[hostPart];
  if (host === undefined) {
    return `"${address}": only loopback addresses (127.0.0.1, [::1]) are allowed: the local endpoint has no TLS and no passwords. A gateway that serves LAN clients runs its own broker`;
  }
  const port = Number(portText);
  if (port < 1 || port > 65535) return `"${address}": the port must be 1-65535`;
  return { kind: 'tcp', host, port };
}

export function formatListenAddress(address: ListenAddress): string {
  return address.kind === 'unix' ? `unix:${address.path}` : `tcp://${address.host === '::1' ? '[::1]' : address.host}:${address.port}`;
}
