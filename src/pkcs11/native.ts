/**
 * The only importer of pkcs11js: loads a PKCS#11 module and offers the few
 * calls trustlink makes, with PKCS#11 return values mapped to TrustlinkError
 * codes here and nowhere else.
 *
 * aws-crt loads the same module for TLS in the same process. Its default
 * behaviour tolerates an initialized module and never finalizes it, so this
 * side initializes (treating "already initialized" as success) and does not
 * finalize while a connection may still use the module.
 *
 * The addon is required on first use, as crt/load.ts loads aws-crt: commands
 * that never touch a token (--help, config checks) neither pay for it nor
 * fail when it is missing. Synchronous, so token code stays synchronous.
 */
import { existsSync } from 'node:fs';
import type Pkcs11js from 'pkcs11js';
import { TrustlinkError, type ErrorCode } from '../errors.js';

type Addon = typeof Pkcs11js;
export type Handle = Buffer;
export type Template = Pkcs11js.Template;
export type Attribute = Pkcs11js.Attribute;
export type Mechanism = Pkcs11js.Mechanism;

let addon: Addon | undefined;
function pkcs11js(): Addon {
  // esbuild bundles this require; under vitest `require` is the module runner's.
  addon ??= require('pkcs11js') as Addon;
  return addon;
}

/** The CK* constants; reading one loads the addon, so read them in functions, not at module level. */
export const constants: Addon = new Proxy({} as Addon, { get: (_target, name) => Reflect.get(pkcs11js(), name) });

export interface SlotToken {
  slot: Handle;
  slotId: number;
  slotDescription: string;
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  /** CKF_TOKEN_INITIALIZED. */
  initialized: boolean;
  flags: number;
}

/** What C_GetInfo says about the module, trimmed. */
export interface ModuleInfo {
  manufacturer: string;
  description: string;
  version: string;
}

/** A slot, and its token when one is present. */
export interface SlotEntry {
  slot: Handle;
  slotId: number;
  slotDescription: string;
  slotManufacturer: string;
  token: SlotToken | undefined;
}

// CKF_TOKEN_PRESENT (PKCS#11 2.40, CK_SLOT_INFO.flags); pkcs11js exports it but does not type it.
const CKF_TOKEN_PRESENT = 0x1;

/** What a PKCS#11 return value means for a user, when it means something specific. */
const RESULT_CODES: Record<string, ErrorCode> = {
  CKR_PIN_INCORRECT: 'PIN_INCORRECT',
  CKR_PIN_LOCKED: 'PIN_LOCKED',
  CKR_PIN_LEN_RANGE: 'PIN_INCORRECT',
  CKR_TOKEN_NOT_PRESENT: 'TOKEN_NOT_FOUND',
  CKR_DEVICE_REMOVED: 'TOKEN_NOT_FOUND',
};

/** The CKR_* name of a pkcs11js error, or undefined for anything else. */
export function resultName(error: unknown): string | undefined {
  if (error instanceof Error && /^CKR_[A-Z_]+$/.test(error.message)) return error.message;
  return undefined;
}

/** Maps a failed PKCS#11 call to a TrustlinkError that says what was being done. */
export function tokenError(error: unknown, doing: string, hint?: string): TrustlinkError {
  if (error instanceof TrustlinkError) return error;
  const name = resultName(error);
  const code = (name ? RESULT_CODES[name] : undefined) ?? 'TOKEN_OPERATION_FAILED';
  const reason = name ?? (error instanceof Error ? error.message : String(error));
  return new TrustlinkError(code, `${doing} failed: ${reason}`, { cause: error, ...(hint ? { hint } : {}) });
}

const trimmed = (text: string): string => text.replace(/[\s\0]+$/, '');

function slotIdOf(handle: Handle): number {
  return handle.length >= 8 ? Number(handle.readBigUInt64LE(0)) : handle.readUInt32LE(0);
}

export class Pkcs11Module {
  readonly path: string;
  readonly #lib: Pkcs11js.PKCS11;

  private constructor(path: string, lib: Pkcs11js.PKCS11) {
    this.path = path;
    this.#lib = lib;
  }

  static load(path: string): Pkcs11Module {
    if (!existsSync(path)) {
      throw new TrustlinkError('PKCS11_MODULE_NOT_FOUND', `PKCS#11 module ${path} does not exist`, {
        hint: 'install the module (softhsm2, tpm2-pkcs11, your HSM vendor\'s) or fix --pkcs11-module / pkcs11Module',
      });
    }
    const lib = new (pkcs11js().PKCS11)();
    try {
      lib.load(path);
    } catch (error) {
      throw new TrustlinkError('PKCS11_MODULE_FAILED', `cannot load PKCS#11 module ${path}: ${(error as Error).message}`, {
        cause: error,
        hint: 'is it a PKCS#11 module built for this architecture?',
      });
    }
    try {
      lib.C_Initialize();
    } catch (error) {
      if (resultName(error) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
        throw new TrustlinkError('PKCS11_MODULE_FAILED', `PKCS#11 module ${path} failed to initialize: ${resultName(error) ?? (error as Error).message}`, {
          cause: error,
          hint: 'check the module\'s own configuration (SOFTHSM2_CONF, TPM2_PKCS11_STORE, TPM2_PKCS11_TCTI)',
        });
      }
    }
    return new Pkcs11Module(path, lib);
  }

  libraryDescription(): string {
    const info = this.info();
    return `${info.manufacturer} ${info.description} ${info.version}`;
  }

  info(): ModuleInfo {
    const info = this.#lib.C_GetInfo();
    return {
      manufacturer: trimmed(info.manufacturerID),
      description: trimmed(info.libraryDescription),
      version: `${info.libraryVersion.major}.${info.libraryVersion.minor}`,
    };
  }

  #token(slot: Handle, slotDescription: string): SlotToken {
    const token = this.#lib.C_GetTokenInfo(slot);
    return {
      slot,
      slotId: slotIdOf(slot),
      slotDescription,
      label: trimmed(token.label),
      manufacturer: trimmed(token.manufacturerID),
      model: trimmed(token.model),
      serial: trimmed(token.serialNumber),
      initialized: (token.flags & constants.CKF_TOKEN_INITIALIZED) !== 0,
      flags: token.flags,
    };
  }

  /** Slots that hold a token, with the token's description. */
  tokens(): SlotToken[] {
    return this.#lib.C_GetSlotList(true).map((slot) => this.#token(slot, trimmed(this.#lib.C_GetSlotInfo(slot).slotDescription)));
  }

  /** Every slot, empty or not. */
  slots(): SlotEntry[] {
    return this.#lib.C_GetSlotList(false).map((slot) => {
      const info = this.#lib.C_GetSlotInfo(slot);
      const slotDescription = trimmed(info.slotDescription);
      return {
        slot,
        slotId: slotIdOf(slot),
        slotDescription,
        slotManufacturer: trimmed(info.manufacturerID),
        token: (info.flags & CKF_TOKEN_PRESENT) !== 0 ? this.#token(slot, slotDescription) : undefined,
      };
    });
  }

  /** The token's flags read fresh: PIN counters change with every failed login. */
  tokenFlags(slot: Handle): number {
    return this.#lib.C_GetTokenInfo(slot).flags;
  }

  openSession(slot: Handle, readWrite = false): Session {
    const flags = constants.CKF_SERIAL_SESSION | (readWrite ? constants.CKF_RW_SESSION : 0);
    try {
      return new Session(this.#lib, this.#lib.C_OpenSession(slot, flags));
    } catch (error) {
      throw tokenError(error, 'opening a session with the token');
    }
  }

  /** For commands that own the module alone; never while aws-crt may still use it. */
  finalize(): void {
    try {
      this.#lib.C_Finalize();
    } finally {
      this.#lib.close();
    }
  }
}

export class Session {
  readonly #lib: Pkcs11js.PKCS11;
  readonly #handle: Handle;

  constructor(lib: Pkcs11js.PKCS11, handle: Handle) {
    this.#lib = lib;
    this.#handle = handle;
  }

  /** Logs the user in; "already logged in" (another session of this process did) is success. */
  loginUser(pin: string): void {
    try {
      this.#lib.C_Login(this.#handle, constants.CKU_USER, pin);
    } catch (error) {
      if (resultName(error) === 'CKR_USER_ALREADY_LOGGED_IN') return;
      throw error;
    }
  }

  findObjects(template: Template, limit = 1000): Handle[] {
    this.#lib.C_FindObjectsInit(this.#handle, template);
    try {
      return this.#lib.C_FindObjects(this.#handle, limit);
    } finally {
      this.#lib.C_FindObjectsFinal(this.#handle);
    }
  }

  /** Reads attributes one at a time, so that one the object lacks does not hide the others. */
  attributes(object: Handle, types: number[]): Map<number, Buffer> {
    const values = new Map<number, Buffer>();
    for (const type of types) {
      try {
        const [attribute] = this.#lib.C_GetAttributeValue(this.#handle, object, [{ type }]);
        if (Buffer.isBuffer(attribute?.value)) values.set(type, attribute.value);
      } catch {
        // Sensitive or absent attributes are reported as missing, which is what callers check.
      }
    }
    return values;
  }

  sign(mechanism: Mechanism, key: Handle, data: Buffer): Buffer {
    this.#lib.C_SignInit(this.#handle, mechanism, key);
    // 512 bytes holds an RSA-4096 signature or a raw ECDSA P-521 one.
    return this.#lib.C_Sign(this.#handle, data, Buffer.alloc(512));
  }

  verify(mechanism: Mechanism, key: Handle, data: Buffer, signature: Buffer): boolean {
    this.#lib.C_VerifyInit(this.#handle, mechanism, key);
    try {
      return this.#lib.C_Verify(this.#handle, data, signature);
    } catch (error) {
      if (resultName(error) === 'CKR_SIGNATURE_INVALID') return false;
      throw error;
    }
  }

  /** Runs off the main thread: RSA on a TPM takes seconds, and a progress display must keep ticking meanwhile. */
  generateKeyPair(mechanism: Mechanism, publicTemplate: Template, privateTemplate: Template): Promise<{ publicKey: Handle; privateKey: Handle }> {
    return this.#lib.C_GenerateKeyPairAsync(this.#handle, mechanism, publicTemplate, privateTemplate);
  }

  createObject(template: Template): Handle {
    return this.#lib.C_CreateObject(this.#handle, template);
  }

  destroyObject(object: Handle): void {
    this.#lib.C_DestroyObject(this.#handle, object);
  }

  close(): void {
    this.#lib.C_CloseSession(this.#handle);
  }
}
