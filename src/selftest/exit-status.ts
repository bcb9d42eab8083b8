/** The exit statuses `trustlink selftest` promises its callers (systemd units, update hooks), apart from the self-test itself. */
export const SELFTEST_EXIT = { ok: 0, failed: 1, usage: 2 } as const;
