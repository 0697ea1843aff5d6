import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/lib/config.ts';

describe('DOOR_COUNTS_WEBHOOK_SECRET', () => {
  it('is off when unset, taken when 16 characters or more, and a shorter one stops the server naming it', () => {
    expect(loadConfig({}).doorCountsWebhookSecret).toBeUndefined();
    expect(loadConfig({ DOOR_COUNTS_WEBHOOK_SECRET: 'door-secret-0123456' }).doorCountsWebhookSecret).toBe(
      'door-secret-0123456',
    );
    expect(() => loadConfig({ DOOR_COUNTS_WEBHOOK_SECRET: 'short' })).toThrow(
      /DOOR_COUNTS_WEBHOOK_SECRET: must be at least 16 characters/,
    );
  });
});
