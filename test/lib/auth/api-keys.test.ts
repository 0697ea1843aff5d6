import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { authenticateApiKey, createApiKey, revokeApiKey } from '#lib/auth/api-keys.service.ts';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);

describeEachDatabase('API keys', (db) => {
  it('are shown once, stored hashed, sent as Bearer, and revocable', async () => {
    const created = await createApiKey(db(), { name: 'CRM sync', role: 'marketer', createdBy: null }, T0);
    expect(created.ok).toBe(true);
    if (!created.ok) return;
    const { key } = created.value;
    expect(key).toMatch(/^ffk_[a-z2-7]{32}$/);
    const row = await db().selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(key);
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.key_prefix).toBe(key.slice(0, 10));

    expect(await authenticateApiKey(db(), `Bearer ${key}`, T0 + 1)).toEqual({
      kind: 'api-key',
      keyId: Number(row.id),
      name: 'CRM sync',
      role: 'marketer',
    });
    expect(await authenticateApiKey(db(), `bearer ${key}`, T0 + 1)).not.toBeNull();
    for (const bad of [
      undefined,
      '',
      key,
      `Basic ${key}`,
      `Bearer ${key}x`,
      `Bearer ${row.key_hash}`,
      `Bearer ${key.toUpperCase()}`,
    ]) {
      expect(await authenticateApiKey(db(), bad, T0), String(bad)).toBeNull();
    }
    expect((await db().selectFrom('api_keys').select('last_used_at').executeTakeFirstOrThrow()).last_used_at).toBe(
      T0 + 1,
    );

    expect(await revokeApiKey(db(), Number(row.id), T0 + 2)).toEqual({ ok: true, value: null });
    expect(await authenticateApiKey(db(), `Bearer ${key}`, T0 + 3)).toBeNull();
    expect(await revokeApiKey(db(), Number(row.id), T0 + 4)).toMatchObject({ ok: false, reason: 'not-found' });
  });

  it('refuse an unknown role and an empty name', async () => {
    expect(await createApiKey(db(), { name: 'x', role: 'root', createdBy: null }, T0)).toMatchObject({
      ok: false,
      field: 'role',
    });
    expect(await createApiKey(db(), { name: '  ', role: 'writer', createdBy: null }, T0)).toMatchObject({
      ok: false,
      field: 'name',
    });
  });
});
