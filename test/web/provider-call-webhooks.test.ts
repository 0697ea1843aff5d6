import { describe, expect, it } from 'vitest';
import { storedCallAnswer } from '../../src/web/provider-call-webhooks.ts';
import type { OfflineEvent } from '../../src/lib/offline/offline-events.ts';

const event = (fields: Partial<OfflineEvent>): OfflineEvent => ({
  id: 1,
  kind: 'call',
  at: 1_796_000_000_000,
  recordedAt: 1_796_000_000_000,
  source: 'webhook',
  recordedBy: null,
  mentionedNewsletter: null,
  note: null,
  issueId: null,
  clientId: 'twilio:CA1',
  durationS: 30,
  undoneAt: null,
  answered: true,
  repeatCaller: false,
  subscriberId: null,
  ...fields,
});

describe('a stored call’s webhook answer', () => {
  it('is written as JSON.stringify writes its body, whatever the numbers', () => {
    const cases: Partial<OfflineEvent>[] = [
      {},
      { id: 999_999_999, at: 1_000_000_000, issueId: 0, answered: false },
      { id: 1_000_000_000, at: 1_796_000_000_007, issueId: 1_000_000_001, answered: null },
      { id: 12_345_678_901_234, at: 1_795_000_000_000, issueId: 42 },
      { id: Number.MAX_SAFE_INTEGER, at: 1_796_123_456_789, kind: 'walk_in' },
      { id: 7, at: 1_796_000_000_000.5 },
    ];
    for (const fields of cases)
      for (const duplicate of [false, true]) {
        const answer = storedCallAnswer(event(fields), duplicate);
        expect(answer.status).toBe(duplicate ? 200 : 201);
        expect(answer.json).toBe(JSON.stringify(answer.body));
        expect(JSON.parse(answer.json!)).toEqual({
          stored: !duplicate,
          duplicate,
          event: {
            id: fields.id ?? 1,
            kind: fields.kind ?? 'call',
            at: fields.at ?? 1_796_000_000_000,
            issue_id: fields.issueId ?? null,
            answered: fields.answered === undefined ? true : fields.answered,
          },
        });
      }
  });
});
