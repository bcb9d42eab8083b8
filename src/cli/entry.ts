/** Process entry: run the CLI and exit with its status. */
import { main } from './main.js';

// A reader that went away (`trustlink ... | head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// Exit explicitly: aws-crt keeps the event loop alive after its clients are
// closed (awslabs/aws-crt-nodejs#600). On Linux, writes to stdout and stderr
// (files, pipes, terminals) are synchronous, so nothing is lost by exiting.
void main(process.argv).then((code) => process.exit(code));
