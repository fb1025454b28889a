/**
 * Simple tokens (etcd's `--auth-token simple`, auth/simple_token.go): opaque strings `<16 random letters>.<raft
 * index>`, issued by an Authenticate request that went through Raft, so every member applies it and knows
 * the token: a token is valid on every member. The random prefix is chosen by the proposing member; the index
 * is the entry's Raft index (a member that has not applied that index yet waits for it before judging).
 * Each member keeps its tokens in memory with a TTL (default 300 s, etcd's --auth-token-ttl) that restarts on
 * every use on that member. Tokens are dropped when auth is disabled, and a user's tokens when the user is
 * deleted or changes password. Nothing here is persisted: on restart, WAL replay re-issues only tokens whose
 * Authenticate entry is younger than the TTL (by the proposer's clock).
 */
import { randomInt } from 'node:crypto';

/** etcd's default --auth-token-ttl: 300 s. */
export const DEFAULT_TOKEN_TTL_MS = 300_000;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A fresh 16-letter token prefix (etcd GenTokenPrefix). */
export function genTokenPrefix(): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

/** The Raft index a simple token names, or undefined when the token is not of the simple form. */
export function tokenIndex(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 2 || !/^\d+$/.test(parts[1]!)) return undefined;
  return Number(parts[1]);
}

/** The tokens one member knows: token -> user, with a sliding TTL. `now` is injectable for tests (ms). */
export class SimpleTokens {
  private readonly tokens = new Map<string, { user: string; expiry: number }>();

  constructor(
    readonly ttlMs: number = DEFAULT_TOKEN_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Record `token` for `user`, valid for ttlMs from now. Expired tokens are swept on the way. */
  assign(token: string, user: string): void {
    const t = this.now();
    for (const [k, v] of this.tokens) if (v.expiry <= t) this.tokens.delete(k);
    this.tokens.set(token, { user, expiry: t + this.ttlMs });
  }

  /** The user of a live token (its TTL restarts), or undefined when unknown or expired. */
  lookup(token: string): string | undefined {
    const e = this.tokens.get(token);
    if (!e) return undefined;
    const t = this.now();
    if (e.expiry <= t) {
      this.tokens.delete(token);
      return undefined;
    }
    e.expiry = t + this.ttlMs;
    return e.user;
  }

  /** Drop every token of `user`. */
  invalidateUser(user: string): void {
    for (const [k, v] of this.tokens) if (v.user === user) this.tokens.delete(k);
  }

  /** Drop every token. */
  clear(): void {
    this.tokens.clear();
  }

  /** Number of tokens held (live or not yet swept). */
  size(): number {
    return this.tokens.size;
  }
}
