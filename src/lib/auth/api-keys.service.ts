import type { DB } from '../db/database.ts';
import { cleanPersonName } from './inputs.ts';
import { fail, ok, type Outcome } from '../outcome.ts';
import { isRole, type Role } from './roles.ts';
import { generateSecureRandomString, hashSecret } from './secrets.ts';
import {
  findApiKeyByHash,
  insertApiKey,
  listApiKeys,
  revokeApiKey as revokeApiKeyRow,
  updateApiKeyLastUsed,
  type ApiKey,
} from './api-keys.repository.ts';

/**
 * API keys for automation: `ffk_` and 32 random base32 characters (160 bits), shown once when
 * created. The database keeps a SHA-256 of the key and its first characters, to tell keys apart.
 */
export const API_KEY_PREFIX = 'ffk_';
const KEY_SHAPE = /^ffk_[a-z2-7]{32}$/;
const LAST_USED_RESOLUTION_MS = 60 * 60 * 1000;
const MAX_NAME_LENGTH = 100;

export interface ApiPrincipal {
  kind: 'api-key';
  keyId: number;
  name: string;
  role: Role;
}

export async function createApiKey(
  db: DB,
  input: { name: string; role: string; createdBy: number | null },
  now = Date.now(),
): Promise<Outcome<{ key: string; apiKey: ApiKey }>> {
  const name = cleanPersonName(input.name);
  if (!name) return fail('invalid', 'Give the key a name, e.g. what will use it.', { field: 'name' });
  if (name.length > MAX_NAME_LENGTH)
    return fail('invalid', `Use at most ${MAX_NAME_LENGTH} characters for the name.`, { field: 'name' });
  if (!isRole(input.role))
    return fail('invalid', `Unknown role "${input.role}": choose admin, marketer or writer.`, { field: 'role' });
  const key = API_KEY_PREFIX + generateSecureRandomString(20);
  const row = {
    name,
    role: input.role,
    key_hash: hashSecret(key),
    key_prefix: key.slice(0, API_KEY_PREFIX.length + 6),
    created_by: input.createdBy,
    created_at: now,
    last_used_at: null,
    revoked_at: null,
  };
  const id = await insertApiKey(db, row);
  return ok({ key, apiKey: { id, ...row } });
}

/** The key an `Authorization: Bearer …` header names, unless unknown or revoked. */
export async function authenticateApiKey(
  db: DB,
  authorization: string | null | undefined,
  now = Date.now(),
): Promise<ApiPrincipal | null> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match || !KEY_SHAPE.test(match[1]!)) return null;
  // Looked up by SHA-256 of a 160-bit secret: timing of the lookup says nothing useful about the key.
  const row = await findApiKeyByHash(db, hashSecret(match[1]!));
  if (row?.revoked_at !== null || !isRole(row.role)) return null;
  if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS)
    await updateApiKeyLastUsed(db, Number(row.id), now);
  return { kind: 'api-key', keyId: Number(row.id), name: row.name, role: row.role };
}

export async function revokeApiKey(db: DB, id: number, now = Date.now()): Promise<Outcome<null>> {
  return (await revokeApiKeyRow(db, id, now)) ? ok(null) : fail('not-found', 'There is no such active key.');
}

export { listApiKeys };
