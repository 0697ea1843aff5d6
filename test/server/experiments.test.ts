import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { addAccount, apiKeyFor, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';

const HOUR = 3_600_000;
const AB = {
  variants: [
    { subject: 'Variant A: springs are in', preheader: 'Plain' },
    { subject: 'Variant B: half-price springs', preheader: 'Bold' },
  ],
  test_share: 0.4,
  wait_ms: 4 * HOUR,
};

for (const dialect of testDialects()) {
  describe(`experiments over HTTP and real SMTP [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    let key: string;
    let writerKey: string;
    let cookie: string;

    beforeAll(async () => {
      sink = await startSmtpSink();
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-experiments-'));
      const db = await createTestDatabaseUrl(dialect, dir);
      drop = db.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: db.url,
        env: {
          SMTP_URL: sink.url,
          SMTP_POOL_SIZE: '3',
          MAIL_FROM: 'Frobozz Electric <news@frobozz.example>',
          SEND_POLL_MS: '50',
          SEND_UNDO_SECONDS: '0',
        },
      });
      key = await apiKeyFor(server.databaseUrl, 'marketer');
      writerKey = await apiKeyFor(server.databaseUrl, 'writer');
      cookie = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'marketer@frobozz.example', 'marketer'),
      );
      await withDatabase(server.databaseUrl, (d) => seedSubscribers(d, 100, { email: (i) => `exp${i}@example.com` }));
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    const post = (path: string, body: unknown, bearer = key) =>
      request(server, path, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const stored = (issueId: number) =>
      withDatabase(server.databaseUrl, async (d) => ({
        sends: (await d.selectFrom('sends').select('id').where('issue_id', '=', issueId).execute()).length,
        experiments: (await d.selectFrom('experiments').select('issue_id').where('issue_id', '=', issueId).execute())
          .length,
        deliveries: (await d.selectFrom('deliveries').select('id').where('issue_id', '=', issueId).execute()).length,
      }));

    it('refuses bad experiments with 400 naming the field, and stores nothing', async () => {
      const issueId = await withDatabase(server.databaseUrl, (d) => createDraftIssue(d, 'Refused experiments'));
      const variants = (n: number) => Array.from({ length: n }, (_, i) => ({ subject: `Subject ${i + 1}` }));
      const cases: [string, unknown, string][] = [
        ['a test share of 60 %', { ...AB, test_share: 0.6 }, 'experiment.test_share'],
        ['a test share of 0', { ...AB, test_share: 0 }, 'experiment.test_share'],
        ['a negative holdout', { holdout_share: -0.1 }, 'experiment.holdout_share'],
        ['a holdout of 51 %', { holdout_share: 0.51 }, 'experiment.holdout_share'],
        ['one variant', { ...AB, variants: variants(1) }, 'experiment.variants'],
        ['five variants', { ...AB, variants: variants(5) }, 'experiment.variants'],
        [
          'an empty subject',
          { ...AB, variants: [{ subject: 'Fine' }, { subject: '', preheader: 'no subject' }] },
          'experiment.variants.1.subject',
        ],
        ['a wait of 0', { ...AB, wait_ms: 0 }, 'experiment.wait_ms'],
        ['a wait over 7 days', { ...AB, wait_ms: 7 * 24 * HOUR + 1 }, 'experiment.wait_ms'],
        ['an audience too small', { ...AB, test_share: 0.1, variants: variants(4) }, 'experiment.test_share'],
      ];
      for (const [what, experiment, field] of cases) {
        const answer = await post(`/api/issues/${issueId}/send`, { audience: {}, experiment });
        expect(answer.status, `${what}: ${answer.text}`).toBe(400);
        expect(JSON.parse(answer.text), what).toMatchObject({ error: 'invalid', field });
      }
      // The minimum is named: 4 variants sharing 10 % need 10 each: 0.025 × n ≥ 9.5 → at least 380.
      const small = await post(`/api/issues/${issueId}/send`, {
        audience: {},
        experiment: { ...AB, test_share: 0.1, variants: variants(4) },
      });
      expect(JSON.parse(small.text).message).toMatch(
        /This audience has 100 people: .* needs at least 3\d\d \(10 in each arm\)/,
      );
      // The send page: the same refusals as a message on the form, the fields kept, nothing stored.
      const page = `/admin/issues/${issueId}/send`;
      const form = { issueId: String(issueId), audience: 'all', when: 'now', confirmed: 'yes' };
      const refusals: [Record<string, string>, RegExp][] = [
        [{ ab: 'yes', subjectA: 'Only one', testShare: '20', waitHours: '4' }, /2 to 4 variants/],
        [
          { ab: 'yes', subjectA: 'One', preheaderB: 'no subject', testShare: '20', waitHours: '4' },
          /Variant B: Enter the subject/,
        ],
        [
          { ab: 'yes', subjectA: 'One', subjectB: 'Two', testShare: '60', waitHours: '4' },
          /test share must be more than 0 % and at most 50 %/,
        ],
        [
          { ab: 'yes', subjectA: 'One', subjectB: 'Two', testShare: '20', waitHours: '0' },
          /wait before the winner goes out must be more than 0 and at most 7 days/,
        ],
        [{ ab: 'yes', subjectA: 'One', subjectB: 'Two', testShare: '20', waitHours: '169' }, /at most 7 days/],
        [{ holdout: 'yes', holdoutShare: '55' }, /holdout share must be more than 0 % and at most 50 %/],
        [
          { ab: 'yes', subjectA: 'One', subjectB: 'Two', testShare: '5', waitHours: '4' },
          /needs at least \d+ \(10 in each arm\)/,
        ],
      ];
      for (const [fields, message] of refusals) {
        const answer = await postForm(server, page, 'sending.send', { ...form, ...fields }, { cookie });
        // The form comes back (Astro answers a refused action's page with 400), with the message.
        expect(answer.status, JSON.stringify(fields)).toBe(400);
        expect(answer.text).toContain('name="subjectA"');
        expect(answer.text.replace(/&#39;|&quot;/g, ''), JSON.stringify(fields)).toMatch(message);
      }
      expect(await stored(issueId)).toEqual({ sends: 0, experiments: 0, deliveries: 0 });
      expect(sink.messages).toHaveLength(0);
    });

    it('an A/B test with a holdout: the held out get nothing, the variants their subjects, the picked winner goes once to exactly the rest; the experiment cannot change after', async () => {
      const issueId = await withDatabase(server.databaseUrl, (d) => createDraftIssue(d, 'The issue as written'));
      const experiment = { ...AB, holdout_share: 0.2 };
      const made = await post(`/api/issues/${issueId}/send`, { audience: {}, experiment });
      expect(made.status, made.text).toBe(202);
      expect(JSON.parse(made.text)).toMatchObject({ recipients: 100 });
      // Changing the experiment once sending started: 400 naming it, nothing changed; the same request again answers the send.
      const changed = await post(`/api/issues/${issueId}/send`, {
        audience: {},
        experiment: { ...experiment, wait_ms: HOUR },
      });
      expect(changed.status, changed.text).toBe(400);
      expect(JSON.parse(changed.text)).toMatchObject({ field: 'experiment' });
      expect((await post(`/api/issues/${issueId}/send`, { audience: {}, experiment })).status).toBe(202);

      await sink.waitFor(40, 30_000);
      const arms = await withDatabase(server.databaseUrl, (d) =>
        d
          .selectFrom('deliveries')
          .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
          .select(['subscribers.email', 'deliveries.arm', 'deliveries.status'])
          .where('deliveries.issue_id', '=', issueId)
          .execute(),
      );
      const inArm = (arm: string) => new Set(arms.filter((r) => r.arm === arm).map((r) => r.email));
      expect([inArm('A').size, inArm('B').size, inArm('holdout').size, inArm('rest').size]).toEqual([20, 20, 20, 40]);
      const progress = async () =>
        JSON.parse(
          (await request(server, `/api/issues/${issueId}/progress`, { headers: { authorization: `Bearer ${key}` } }))
            .text,
        );
      await eventually(async () => (await progress()).counts.sent === 40, 'the variants to be sent');
      const during = await progress();
      expect(during.counts).toMatchObject({ sent: 40, queued: 40, total: 80 });
      expect(during.experiment).toMatchObject({ state: expect.stringMatching(/testing|waiting/), winner_arm: null });
      expect(during.experiment.arms.map((a: { arm: string; size: number }) => [a.arm, a.size])).toEqual([
        ['A', 20],
        ['B', 20],
        ['rest', 40],
        ['holdout', 20],
      ]);
      expect(sink.messages).toHaveLength(40);

      // A writer may not pick; a variant that does not exist is refused; the marketer picks B on the progress page.
      expect((await post(`/api/issues/${issueId}/experiment`, { winner: 'B' }, writerKey)).status).toBe(403);
      const bad = await post(`/api/issues/${issueId}/experiment`, { winner: 'E' });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text)).toMatchObject({ field: 'arm' });
      const page = await request(server, `/admin/issues/${issueId}/progress`, { cookie });
      expect(page.status).toBe(200);
      expect(page.text).toContain('Send variant B now to the rest');
      const picked = await postForm(
        server,
        `/admin/issues/${issueId}/progress`,
        'sending.pickWinner',
        {
          issueId: String(issueId),
          arm: 'B',
        },
        { cookie },
      );
      expect(picked.prg?.status ?? picked.status).toBe(303);
      await eventually(async () => (await progress()).send.state === 'finished', 'the send to finish', 30_000);
      const done = await progress();
      expect(done.counts).toMatchObject({ sent: 80, queued: 0, sending: 0, skipped: 0, total: 80 });
      expect(done.experiment).toMatchObject({ winner_arm: 'B', decided_how: 'picked' });
      const got = sink.envelopes.flatMap((e) => e.rcptTo);
      expect(got).toHaveLength(80);
      expect(new Set(got).size).toBe(80);
      expect(got.filter((to) => inArm('holdout').has(to))).toEqual([]);
      for (const [i, m] of sink.messages.entries()) {
        const to = sink.envelopes[i]!.rcptTo[0]!;
        expect(m.subject).toBe(inArm('A').has(to) ? AB.variants[0]!.subject : AB.variants[1]!.subject);
      }
      expect(new Set(got.slice(40))).toEqual(inArm('rest'));
      // Stopping after the winner was chosen: 409.
      expect((await post(`/api/issues/${issueId}/experiment`, { stop: true })).status).toBe(409);
      // The report counts no held-out person as a recipient.
      const report = JSON.parse(
        (await request(server, `/api/issues/${issueId}/report`, { headers: { authorization: `Bearer ${key}` } })).text,
      );
      expect(JSON.stringify(report)).toMatch(/"recipients":80/);
    });
  });
}
