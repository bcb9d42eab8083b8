/**
 * What is special about a TPM behind tpm2-pkcs11: PIN failures count
 * against the TPM's dictionary-attack (DA) protection, which covers every
 * token of that TPM, and the module never shows it in the token's PIN
 * flags. Pure: callers pass what C_GetInfo said.
 */
import type { ModuleInfo } from './native.js';

/** tpm2-pkcs11 says "tpm2-software.github.io" / "TPM2.0 Cryptoki" in C_GetInfo. */
export function isTpm2Module(info: ModuleInfo): boolean {
  return /tpm2-software/i.test(info.manufacturer) || /^TPM2(\.0)? Cryptoki/i.test(info.description);
}

const DA_FACTS =
  'each wrong PIN raises the TPM dictionary-attack counter (TPM2_PT_LOCKOUT_COUNTER); when it reaches TPM2_PT_MAX_AUTH_FAIL ' +
  'the TPM refuses every PIN of every token on it, and forgets one failure per TPM2_PT_LOCKOUT_INTERVAL seconds. ' +
  'tpm2-pkcs11 never shows this in the PIN flags; `tpm2_getcap properties-variable` does';

/** The hint for a refused login on a TPM: what the DA counter is, and who can reset it. */
export function tpmLockoutHint(locked: boolean): string {
  return locked
    ? `the TPM is in dictionary-attack lockout: ${DA_FACTS}. Wait for the lockout interval to pass, or have an administrator ` +
        'who holds the lockout authorization run `tpm2_dictionarylockout --clear-lockout`; fix the PIN first'
    : `fix the PIN before trying again: ${DA_FACTS}. An administrator who holds the lockout authorization can reset the counter ` +
        'with `tpm2_dictionarylockout --clear-lockout`';
}

/** Shown by `hsm list` beside a TPM token, whose PIN flags always look healthy. */
export const TPM_PIN_FLAGS_NOTE =
  'tpm2-pkcs11 does not report PIN retries or lockout in these flags; the TPM dictionary-attack counter does (tpm2_getcap properties-variable)';
