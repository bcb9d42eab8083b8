/**
 * OpenSC's PKCS#11 spy: a module that logs every call and passes it on to
 * the real module, so tests count C_Login calls made by pkcs11js and aws-crt
 * alike. Its log holds the PIN: keep it in the test's temp folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

// Debian puts it under the multiarch folder (/usr/lib/x86_64-linux-gnu/pkcs11/), others under lib64.
const CANDIDATES = [
  ...readdirSync('/usr/lib').filter((name) => name.includes('-linux-')).map((name) => `/usr/lib/${name}/pkcs11/pkcs11-spy.so`),
  '/usr/lib64/pkcs11/pkcs11-spy.so',
  '/usr/lib/pkcs11/pkcs11-spy.so',
];

export interface Pkcs11Spy {
  /** Pass this as --pkcs11-module. */
  modulePath: string;
  /** PKCS11SPY and PKCS11SPY_OUTPUT, to add to trustlink's environment. */
  env: Record<string, string>;
  /** How many times C_Login was called so far. */
  loginCalls(): number;
}

export function pkcs11Spy(realModule: string, logFile: string): Pkcs11Spy {
  const modulePath = CANDIDATES.find((candidate) => existsSync(candidate));
  if (!modulePath) throw new Error(`pkcs11-spy.so not found in ${CANDIDATES.join(', ')} (Debian: apt-get install opensc-pkcs11)`);
  return {
    modulePath,
    env: { PKCS11SPY: realModule, PKCS11SPY_OUTPUT: logFile },
    loginCalls() {
      if (!existsSync(logFile)) return 0;
      // Each call starts with a line "N: C_Name".
      return readFileSync(logFile, 'utf8').split('\n').filter((line) => /^\d+: C_Login$/.test(line)).length;
    },
  };
}
