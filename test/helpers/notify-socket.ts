/**
 * A stand-in for systemd's notification socket: a unix datagram socket
 * (which Node cannot open) held by a small python3 process that prints each
 * datagram as one JSON string a line. Like systemd, it closes the file
 * descriptors systemd-notify passes for its barrier, so the sender goes on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const RECEIVER = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("bound"), flush=True)
while True:
    data, ancillary, _flags, _address = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(json.dumps(data.decode()), flush=True)
`;

export interface NotifySocket {
  path: string;
  /** Every datagram received, in order ("READY=1\\nSTATUS=..."). */
  messages: string[];
  /** The KEY=VALUE assignments received, flattened. */
  assignments(): string[];
  waitFor(what: string, predicate: (assignments: string[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function createNotifySocket(dir: string): Promise<NotifySocket> {
  const path = join(dir, 'notify.sock');
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.map((line) => JSON.parse(line) as string));
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const socket: NotifySocket = {
    path,
    get messages() {
      return lines.slice(1);
    },
    assignments: () => lines.slice(1).flatMap((message) => message.split('\n')),
    async waitFor(what, predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(socket.assignments())) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`timed out waiting for ${what} on the notify socket; got ${JSON.stringify(lines)}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
  const deadline = Date.now() + 10_000;
  while (lines[0] !== 'bound') {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the notify socket stand-in did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return socket;
}
