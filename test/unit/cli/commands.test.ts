/** main.ts's table of commands, read before any command module is imported, names each command as the command itself does. */
import { expect, it } from 'vitest';
import { COMMANDS } from '../../../src/cli/main.js';

it('names every command by its own name and aliases', async () => {
  for (const entry of COMMANDS) {
    const command = await entry.load();
    expect([command.name(), ...command.aliases()]).toEqual(entry.names);
  }
});
