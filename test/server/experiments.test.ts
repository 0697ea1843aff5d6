import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { addAccount, apiKeyFor, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { countBy, createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';

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
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
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
    /**
     * What a change of the experiment could touch once sending started: the send, the experiment
     * (all but its state, which the worker moves on as the variants go out), its arms, and who is
     * in which arm (not the rows' sending progress).
     */
    const experimentAsStored = (issueId: number) =>
      withDatabase(server.databaseUrl, async (d) => ({
        sends: await d
          .selectFrom('sends')
          .select(['id', 'audience', 'scheduled_at', 'started_at', 'recipients', 'created_at'])
          .where('issue_id', '=', issueId)
          .execute(),
        experiment: await d
          .selectFrom('experiments')
          .select(['seed', 'test_share', 'holdout_share', 'wait_ms', 'measure', 'winner_arm', 'created_at'])
          .where('issue_id', '=', issueId)
          .execute(),
        arms: await d
          .selectFrom('experiment_arms')
          .select(['arm', 'subject', 'preheader', 'body_markdown', 'size'])
          .where('issue_id', '=', issueId)
          .orderBy('arm')
          .execute(),
        ledger: (
          await d
            .selectFrom('deliveries')
            .select(['id', 'subscriber_id', 'arm', 'status'])
            .where('issue_id', '=', issueId)
            .orderBy('id')
            .execute()
        ).map((r) => [r.id, r.subscriber_id, r.arm, r.status === 'held_out']),
      }));
    const progressOf = async (issueId: number) =>
      JSON.parse(
        (await request(server, `/api/issues/${issueId}/progress`, { headers: { authorization: `Bearer ${key}` } }))
          .text,
      );
    const reportOf = async (issueId: number) =>
      JSON.parse(
        (await request(server, `/api/issues/${issueId}/report`, { headers: { authorization: `Bearer ${key}` } })).text,
      );
    /** The ledger as the test reads it: who, in which arm, with what outcome. */
    const ledgerOf = (issueId: number) =>
      withDatabase(server.databaseUrl, (d) =>
        d
          .selectFrom('deliveries')
          .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
          .select(['subscribers.email', 'deliveries.arm', 'deliveries.status', 'deliveries.reason'])
          .where('deliveries.issue_id', '=', issueId)
          .execute(),
      );
    /** The subjects each address got for messages whose subject starts with `prefix` (one issue's). */
    const receivedWith = (prefix: string) => {
      const got = new Map<string, string[]>();
      for (const [i, m] of sink.messages.entries()) {
        if (!m.subject?.startsWith(prefix)) continue;
        for (const to of sink.envelopes[i]!.rcptTo) got.set(to, [...(got.get(to) ?? []), m.subject]);
      }
      return got;
    };
    /** A new issue's A/B test (20 + 20 of the 100, the rest 60 waiting), its variants sent. */
    const startAbTest = async (name: string) => {
      const issueId = await withDatabase(server.databaseUrl, (d) => createDraftIssue(d, name));
      const subjects = { A: `${name}: variant A`, B: `${name}: variant B` };
      const made = await post(`/api/issues/${issueId}/send`, {
        audience: {},
        experiment: { ...AB, variants: [{ subject: subjects.A }, { subject: subjects.B }] },
      });
      expect(made.status, made.text).toBe(202);
      await eventually(async () => (await progressOf(issueId)).counts.sent === 40, `${name}: the variants to be sent`);
      return { issueId, subjects };
    };

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
      const before = await experimentAsStored(issueId);
      expect(before.experiment).toMatchObject([{ wait_ms: 4 * HOUR, winner_arm: null }]);
      expect(before.ledger).toHaveLength(100);
      const changed = await post(`/api/issues/${issueId}/send`, {
        audience: {},
        experiment: { ...experiment, wait_ms: HOUR },
      });
      expect(changed.status, changed.text).toBe(400);
      expect(JSON.parse(changed.text)).toMatchObject({ field: 'experiment' });
      expect(await experimentAsStored(issueId)).toEqual(before);
      // The same refusal from the send page (a form posted from an older tab): the message, nothing changed.
      const fromForm = await postForm(
        server,
        `/admin/issues/${issueId}/send`,
        'sending.send',
        {
          issueId: String(issueId),
          audience: 'all',
          when: 'now',
          confirmed: 'yes',
          ab: 'yes',
          subjectA: AB.variants[0]!.subject,
          subjectB: 'Variant B, reworded',
          testShare: '40',
          waitHours: '4',
          holdout: 'yes',
          holdoutShare: '20',
        },
        { cookie },
      );
      expect(fromForm.status).toBe(400);
      expect(fromForm.text).toContain('The experiment cannot be changed once the send was made');
      expect(fromForm.text).toContain('See its progress');
      expect(await experimentAsStored(issueId)).toEqual(before);
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
      expect(picked.status).toBe(303);
      expect(picked.location).toBe(`/admin/issues/${issueId}/progress`);
      // Back on the progress page: the winner on its way (or already gone) and no buttons left to press.
      const after = await request(server, picked.location!, { cookie });
      expect(after.text).toMatch(/Sending the winner \(variant B\) to the rest|Finished: variant B went to the rest/);
      expect(after.text).not.toContain('Send variant A now to the rest');
      await eventually(async () => (await progress()).send.state === 'finished', 'the send to finish', 30_000);
      // The ledger: the rest sent, the held out never; nothing skipped.
      expect(countBy(await ledgerOf(issueId), (r) => `${r.arm} ${r.status}`)).toEqual({
        'A sent': 20,
        'B sent': 20,
        'rest sent': 40,
        'holdout held_out': 20,
      });
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

    it('picking the winner over the API: it goes once to exactly the rest; progress and report say it was picked', async () => {
      const { issueId, subjects } = await startAbTest('Picked over the API');
      const picked = await post(`/api/issues/${issueId}/experiment`, { winner: 'A' });
      expect(picked.status, picked.text).toBe(200);
      expect(JSON.parse(picked.text)).toEqual({ issue_id: issueId, state: 'sending_winner' });
      await eventually(
        async () => (await progressOf(issueId)).experiment.state === 'finished',
        'the winner to have gone out',
        30_000,
      );

      const ledger = await ledgerOf(issueId);
      expect(countBy(ledger, (r) => `${r.arm} ${r.status}`)).toEqual({ 'A sent': 20, 'B sent': 20, 'rest sent': 60 });
      const got = receivedWith('Picked over the API');
      expect(got.size).toBe(100);
      for (const r of ledger)
        expect(got.get(r.email), `${r.email} (${r.arm})`).toEqual([r.arm === 'B' ? subjects.B : subjects.A]);

      const page = await request(server, `/admin/issues/${issueId}/progress`, { cookie });
      expect(page.text).toContain('Finished: variant A went to the rest');
      expect(page.text).toContain('picked before the wait ended');
      expect(page.text).not.toContain('Stop: the rest get nothing');
      expect((await reportOf(issueId)).experiment).toMatchObject({
        state: 'finished',
        winner_arm: 'A',
        decided_how: 'picked',
      });
      const reportPage = await request(server, `/admin/issues/${issueId}/report`, { cookie });
      expect(reportPage.text).toContain('Went to the rest: variant A (picked by the marketer)');
      // Decided: another pick or a stop is refused, and changes nothing.
      expect((await post(`/api/issues/${issueId}/experiment`, { winner: 'B' })).status).toBe(409);
      expect((await post(`/api/issues/${issueId}/experiment`, { stop: true })).status).toBe(409);
      expect(countBy(await ledgerOf(issueId), (r) => `${r.arm} ${r.status}`)).toEqual({
        'A sent': 20,
        'B sent': 20,
        'rest sent': 60,
      });
    });

    for (const how of ['the API', 'the progress page'] as const)
      it(`stopping the test from ${how}: the rest are skipped ("experiment stopped") and get nothing`, async () => {
        const name = `Stopped from ${how}`;
        const { issueId, subjects } = await startAbTest(name);
        if (how === 'the API') {
          const stopped = await post(`/api/issues/${issueId}/experiment`, { stop: true });
          expect(stopped.status, stopped.text).toBe(200);
          expect(JSON.parse(stopped.text)).toEqual({ issue_id: issueId, state: 'stopped' });
        } else {
          const form = await request(server, `/admin/issues/${issueId}/progress`, { cookie });
          expect(form.text).toContain('Stop: the rest get nothing');
          const stopped = await postForm(
            server,
            `/admin/issues/${issueId}/progress`,
            'sending.stopExperiment',
            { issueId: String(issueId) },
            { cookie },
          );
          expect(stopped.status).toBe(303);
          expect(stopped.location).toBe(`/admin/issues/${issueId}/progress`);
          const after = await request(server, stopped.location!, { cookie });
          expect(after.text).toContain('Stopped: the rest got nothing');
          expect(after.text).not.toContain('Send variant A now to the rest');
        }
        await eventually(async () => (await progressOf(issueId)).send.state === 'finished', 'the send to end', 30_000);

        const ledger = await ledgerOf(issueId);
        expect(countBy(ledger, (r) => `${r.arm} ${r.status} ${r.reason ?? ''}`)).toEqual({
          'A sent ': 20,
          'B sent ': 20,
          'rest skipped experiment stopped': 60,
        });
        const got = receivedWith(name);
        expect(got.size).toBe(40);
        for (const r of ledger)
          expect(got.get(r.email), `${r.email} (${r.arm})`).toEqual(
            r.arm === 'rest' ? undefined : [r.arm === 'A' ? subjects.A : subjects.B],
          );

        const page = await request(server, `/admin/issues/${issueId}/progress`, { cookie });
        expect(page.text).toContain('Stopped: the rest got nothing');
        expect(page.text).toContain('nothing (stopped)');
        expect(page.text).toMatch(/data-arm="rest"[\s\S]*?data-count="skipped">\s*60\s*</);
        expect((await progressOf(issueId)).counts).toMatchObject({ sent: 40, skipped: 60, total: 100 });
        expect((await reportOf(issueId)).experiment).toMatchObject({
          state: 'stopped',
          winner_arm: null,
          decided_how: 'stopped',
        });
        // Stopped for good: a winner can no longer be picked.
        expect((await post(`/api/issues/${issueId}/experiment`, { winner: 'A' })).status).toBe(409);
        expect(receivedWith(name).size).toBe(40);
      });

    it('calls in the holdout result: only a phone number on file before the send makes someone identifiable', async () => {
      const phones = (rows: [number, string][]) =>
        request(server, '/api/subscribers', {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(
            rows.map(([i, phone]) => ({
              email: `exp${i}@example.com`,
              status: 'active',
              consent_note: 'Counter form',
              phone,
            })),
          ),
        });
      const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
      const number = (i: number, line = 960) => `+44 1632 ${line}${String(100 + i)}`;
      // Before the send: exp0–exp39 have a number on file.
      const before = await phones(range(0, 40).map((i) => [i, number(i)]));
      expect(before.status, before.text).toBe(200);
      const issueId = await withDatabase(server.databaseUrl, (d) => createDraftIssue(d, 'Who called?'));
      const made = await post(`/api/issues/${issueId}/send`, { audience: {}, experiment: { holdout_share: 0.5 } });
      expect(made.status, made.text).toBe(202);
      // After it: exp40–exp79 get a number, exp0–exp9 send the same number again, exp10–exp19 a new one.
      const after = await phones([
        ...range(40, 80).map((i): [number, string] => [i, number(i)]),
        ...range(0, 10).map((i): [number, string] => [i, number(i)]),
        ...range(10, 20).map((i): [number, string] => [i, number(i, 961)]),
      ]);
      expect(after.status, after.text).toBe(200);

      // Identifiable by calls: exp0–exp9 and exp20–exp39 (30), as the ledger puts them in arms.
      const ledger = await ledgerOf(issueId);
      const identifiable = (arm: string) =>
        ledger.filter((r) => {
          const i = Number(/exp(\d+)@/.exec(r.email)![1]);
          return r.arm === arm && (i < 10 || (i >= 20 && i < 40));
        }).length;
      expect(identifiable('rest') + identifiable('holdout')).toBe(30);
      const calls = (await reportOf(issueId)).experiment.holdout_result.calls;
      expect(calls.name).toBe('Called (subscribers with a phone number on file before the send)');
      expect(
        calls.arms.map((a: { arm: string; size: number; identifiable: number }) => [a.arm, a.size, a.identifiable]),
      ).toEqual([
        ['rest', 50, identifiable('rest')],
        ['holdout', 50, identifiable('holdout')],
      ]);
      const page = await request(server, `/admin/issues/${issueId}/report`, { cookie });
      expect(page.text).toMatch(
        new RegExp(
          `data-outcome="calls"[\\s\\S]*?data-arm="holdout"[\\s\\S]*?data-identifiable[^>]*>\\s*${identifiable('holdout')} of 50`,
        ),
      );
    });

    it('a holdout asked for without a share holds out the default 10 %, as the send page does', async () => {
      const issueId = await withDatabase(server.databaseUrl, (d) => createDraftIssue(d, 'Held out by default'));
      const made = await post(`/api/issues/${issueId}/send`, { audience: {}, experiment: { holdout: {} } });
      expect(made.status, made.text).toBe(202);
      const held = await withDatabase(server.databaseUrl, async (d) => ({
        share: Number(
          (await d.selectFrom('experiments').select('holdout_share').where('issue_id', '=', issueId).executeTakeFirst())
            ?.holdout_share,
        ),
        rows: (
          await d
            .selectFrom('deliveries')
            .select('id')
            .where('issue_id', '=', issueId)
            .where('arm', '=', 'holdout')
            .where('status', '=', 'held_out')
            .execute()
        ).length,
      }));
      expect(held).toEqual({ share: 0.1, rows: 10 });
      // A misspelt field is refused, not ignored (it would have sent to everyone).
      const other = await withDatabase(server.databaseUrl, (d) => createDraftIssue(d, 'Misspelt holdout'));
      const misspelt = await post(`/api/issues/${other}/send`, { audience: {}, experiment: { holdout_shares: 0.2 } });
      expect(misspelt.status).toBe(400);
      expect(JSON.parse(misspelt.text)).toMatchObject({ error: 'invalid', field: 'experiment.holdout_shares' });
    });
  });
}
