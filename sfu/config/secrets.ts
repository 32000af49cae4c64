// Production secrets must be real: with dev tokens off (production), a secret
// that is still a placeholder from a sample or compose file ("change-me-…"),
// or shorter than its minimum, stops Chorus at startup. In dev mode anything
// goes, so a laptop needs no secrets at all.
import type { Config } from './schema.ts';

/** Words that only appear in a secret nobody chose: samples, docs, compose defaults. */
const PLACEHOLDER = /change[-_. ]?(it|me|this)|replace[-_. ]?me|placeholder|your[-_. ]?(own[-_. ]?)?secret|example|^(secret|password|admin|test)$/i;

/** Minimum length of each secret when dev tokens are off. */
const MIN_LENGTH = { 'auth.secret': 32, 'admin.secret': 16, 'turn.secret': 16 } as const;

export type SecretKey = keyof typeof MIN_LENGTH;

/** Problems with the secrets in use, as [key, message]; none in dev mode. */
export function weakSecrets(config: Config): [SecretKey, string][] {
  if (config.auth.devTokens) return [];
  const inUse: [SecretKey, string][] = [['auth.secret', config.auth.secret]];
  if (config.admin.secret !== '') inUse.push(['admin.secret', config.admin.secret]);
  if (config.turn.urls.length > 0) inUse.push(['turn.secret', config.turn.secret]);
  const problems: [SecretKey, string][] = [];
  for (const [key, value] of inUse) {
    const advice = 'set a random one, e.g. `openssl rand -base64 32`';
    if (PLACEHOLDER.test(value)) {
      problems.push([key, `is a placeholder, refused when auth.devTokens is off: ${advice}`]);
    } else if (value.length < MIN_LENGTH[key]) {
      problems.push([key, `use a secret of at least ${MIN_LENGTH[key]} characters when auth.devTokens is off: ${advice}`]);
    }
  }
  return problems;
}
