/**
 * A one-line progress display on stderr for operations that take seconds
 * (RSA key generation on a TPM). Only on a terminal: logs and pipes get
 * nothing, so scripts and journald see clean output.
 */
const FRAMES = ['|', '/', '-', '\\'];
const TICK_MS = 100;

export async function withProgress<T>(what: string, work: () => Promise<T>, stream: NodeJS.WriteStream = process.stderr): Promise<T> {
  if (!stream.isTTY) return work();
  const started = Date.now();
  let frame = 0;
  const draw = (): void => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${what} ${seconds} s`);
  };
  draw();
  const timer = setInterval(draw, TICK_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    // Carriage return and erase-line: the result is printed where the progress was.
    stream.write('\r\x1b[K');
  }
}
