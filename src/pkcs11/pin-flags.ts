/** The user PIN state a token reports in CK_TOKEN_INFO.flags, in words. Pure, so renderers need no module. */

export interface PinFlags {
  countLow: boolean;
  finalTry: boolean;
  locked: boolean;
  toBeChanged: boolean;
}

export function describePinFlags(flags: PinFlags): string {
  const states = [
    flags.locked && 'user PIN locked',
    flags.finalTry && 'final PIN try',
    flags.countLow && 'PIN retry count low',
    flags.toBeChanged && 'PIN must be changed',
  ].filter(Boolean);
  return states.length > 0 ? states.join(', ') : 'PIN state healthy';
}
