import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';

const UsedTokensFileSchema = z.record(z.string(), z.number().int());

/**
 * The console tokens this host has accepted (their `jti`, with their expiry), kept in a file in
 * the agent's state dir so that a token stays used across agent restarts and kill -9. A token is
 * recorded, and the file replaced, before its websocket is accepted. Entries leave once their
 * token has expired (plus the clock tolerance): an expired token is refused anyway.
 */
export class UsedTokens {
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly used: Map<string, number>,
    private readonly keepAfterExpirySeconds: number,
  ) {}

  static async open(file: string, keepAfterExpirySeconds = 60): Promise<UsedTokens> {
    let entries: Record<string, number> = {};
    try {
      entries = UsedTokensFileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the used console tokens in ${file}: ${(error as Error).message}`);
    }
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    return new UsedTokens(file, new Map(Object.entries(entries)), keepAfterExpirySeconds);
  }

  has(jti: string): boolean {
    return this.used.has(jti);
  }

  get size(): number {
    return this.used.size;
  }

  /** Records the token as used; false when it was already. Resolves once the record is on disk. */
  consume(jti: string, exp: number, now = Date.now()): Promise<boolean> {
    const done = this.writes.then(async () => {
      if (this.used.has(jti)) return false;
      this.used.set(jti, exp);
      this.prune(now);
      await this.save();
      return true;
    });
    this.writes = done.catch(() => undefined);
    return done;
  }

  private prune(now: number): void {
    const cutoff = Math.floor(now / 1000) - this.keepAfterExpirySeconds;
    for (const [jti, exp] of this.used) if (exp < cutoff) this.used.delete(jti);
  }

  /** Written aside, then renamed: a crash leaves the old list or the new one, never half of one. */
  private async save(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.used)), { mode: 0o600 });
    await rename(tmp, this.file);
  }
}
