import { Unauthorized } from '../../../shared/errors.js';
import type { TokenContext } from './token-context.js';

// Placeholder until the identity service lands: no token is accepted.
export async function verifyToken(_token: string): Promise<TokenContext> {
  throw new Unauthorized('The request you have made requires authentication.');
}
