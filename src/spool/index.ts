/** The spool's public face: open one, and check a folder for one (the self-test). */
export { openSpool } from './spool.js';
export { checkSpoolDir, type SpoolDirCheck, type SpoolDirProblem } from './check-dir.js';
export type { Spool, SpoolId, SpooledMessage, SpoolOptions, SpoolRecord, SpoolStats } from './types.js';
