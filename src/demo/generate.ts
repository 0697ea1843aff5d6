import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { applyDemoShopSettings } from './shop.ts';
import { applyImport, planImport } from '../lib/subscribers/import.service.ts';
import { findSubscriberByEmail } from '../lib/subscribers/subscribers.repository.ts';
import { dayOf } from '../lib/time/zoned-time.ts';
import { createDemoStaff, type DemoLogin } from './accounts.ts';
import { planFootfall, planOrganicSignups, planSiteTraffic } from './everyday.ts';
import { DemoHistory, type DemoApp, type DemoCounts } from './history.ts';
import { chooseScripts } from './issue-scripts.ts';
import { runExperimentChore } from '../lib/experiments/experiments.service.ts';
import { planComposing, planReading, sendIssue, testWaitOf, type PlannedIssue, type SentIssue } from './newsletter.ts';
import { DAY_MS, HOUR_MS, sendTimes, weeklyRun } from './rhythms.ts';
import type { DemoScale } from './scale.ts';

export type { DemoApp } from './history.ts';

/** The demo's A/B test waits four hours for its variants' readers before deciding. */
const TEST_WAIT_MS = 4 * HOUR_MS;

export interface DemoSummary {
  logins: DemoLogin[];
  from: number;
  to: number;
  issues: SentIssue[];
  /** What was replayed, by kind. */
  counts: DemoCounts;
}

/** The list the store kept before Footfall, imported through the CSV import a couple of days before the history starts. */
async function importOldList(h: DemoHistory, count: number): Promise<void> {
  const at = h.start - 2 * DAY_MS;
  const people = Array.from({ length: count }, () => h.cast.add({ imported: true }));
  const csv = stringify([
    ['email', 'name', 'topics'],
    ...people.map((p) => [p.email, p.name ?? '', p.topics.join('|')]),
  ]);
  const mapping = { delimiter: ',' as const, email: 0, name: 1, topics: 2 };
  const plan = await planImport(h.app.db, Readable.from([csv]), mapping, at);
  if (!plan.ok) throw new Error(`demo import not planned: ${plan.error}`);
  const applied = await applyImport(
    h.app.db,
    plan.value,
    {
      consentNote: 'Signed up on the paper list at the counter; moved from the old mailing tool',
      actor: `user:${h.staff.admin}`,
    },
    at,
  );
  if (!applied.ok) throw new Error(`demo import not applied: ${applied.error}`);
  for (const person of people) {
    const row = await findSubscriberByEmail(h.app.db, person.email);
    if (!row) throw new Error(`imported subscriber ${person.email} not found`);
    h.known(person, Number(row.id));
  }
  h.counts.imported = applied.value.added;
}

/**
 * The demo history of Frobozz Electric: a list imported from the old mailing tool, signups
 * over the weeks, newsletter issues composed, scheduled and sent by the real send worker (to a
 * mailer that delivers nothing), opens and clicks through the tracking service, page views
 * and visits through the event writer, calls and walk-ins tapped on the tally — every one
 * through the project's own services with its time passed in, ending at `now`.
 *
 * Fills an empty, migrated database with it and answers the staff logins and what was made.
 */
export async function generateDemo(
  app: DemoApp,
  scale: DemoScale,
  now = Date.now(),
  log: (line: string) => void = () => {},
): Promise<DemoSummary> {
  const h = new DemoHistory(app, scale, now, log);
  // The shop's own sender, address, phone and hours; stored once, as of the end: the settings
  // cache then answers every earlier moment of the history (they do not change during it)
  // instead of one query per replayed hit.
  const settings = await applyDemoShopSettings(h.app.db, h.end);
  h.timeZone = settings.timeZone;
  h.siteUrl = settings.siteUrl;
  h.ownHost = new URL(settings.siteUrl).host;
  const began = Date.now();
  const { ids, logins } = await createDemoStaff(h.app.db, h.start - 90 * DAY_MS);
  h.staff = ids;

  const imported = Math.round(h.scale.subscribers * 0.8);
  await importOldList(h, imported);
  h.log(
    `${imported.toLocaleString('en')} subscribers imported from the old list on ${dayOf(h.start - 2 * DAY_MS, h.timeZone)}`,
  );

  const scripts = chooseScripts(h.scale.issues);
  // The last four issues (of five or more) go out weekly, same weekday and time: a regular cadence.
  const times = sendTimes(h.start, h.end, scripts.length, h.timeZone, h.random('sends'));
  const plan: PlannedIssue[] = weeklyRun(times, times.length >= 5 ? 4 : 0, h.end, h.timeZone).map((sendAt, i) => ({
    script: scripts[i]!,
    number: i + 1,
    sendAt,
  }));
  // Experiments in the run (issue 19): the issue before the last tests two subjects on 30 % of its
  // audience, the winner going to the rest after four hours; the last holds 10 % out at random.
  if (plan.length >= 3) {
    const tested = plan.at(-2)!;
    const subject = tested.script.subject;
    tested.experiment = {
      variants: [{ subject }, { subject: `This week at the counter: ${subject}` }],
      test_share: 0.3,
      wait_ms: TEST_WAIT_MS,
    };
    tested.variantAppeal = { A: 1, B: 1.3 };
    plan.at(-1)!.experiment = { holdout_share: 0.1 };
  }
  planSiteTraffic(h, plan);
  planFootfall(h, plan);
  planOrganicSignups(h, Math.round(h.scale.subscribers * 0.17));
  for (const issue of plan) planComposing(h, issue);

  const issues: SentIssue[] = [];
  for (const issue of plan) {
    await h.replay.runUntil(issue.sendAt);
    const wait = testWaitOf(issue);
    if (wait !== undefined) {
      // An A/B test: the variants go out, their readers read until the wait ends, and the worker's
      // experiment chore decides on what they did; then the rest get the winner.
      await sendIssue(h, issue, { variantsOnly: true });
      await planReading(h, issue, 'variants');
      const decideAt = issue.sendAt + wait;
      await h.replay.runUntil(decideAt);
      await h.app.writer.flush();
      const decided = await runExperimentChore(h.app.db, decideAt);
      for (const d of decided)
        h.log(`${dayOf(decideAt, h.timeZone)}  issue ${issue.number}: variant ${d.winner} goes to the rest (${d.how})`);
    }
    const sent = await sendIssue(h, issue, wait === undefined ? {} : { from: issue.sendAt + wait });
    issues.push(sent);
    h.log(
      `${dayOf(issue.sendAt, h.timeZone)}  issue ${issue.number}/${plan.length} “${issue.script.subject}” sent to ${sent.sent.toLocaleString('en')}${sent.bounced ? ` (${sent.bounced} bounced)` : ''} · ${progress(h, began)}`,
    );
    await planReading(h, issue, wait === undefined ? 'all' : 'rest');
  }
  // Holdout-only experiments end with their send (the worker's chore marks them finished).
  await runExperimentChore(h.app.db, h.end);
  h.replay.dropFrom(h.end);
  await h.replay.runUntil(h.end);
  await h.app.writer.flush();
  h.log(`history up to now replayed · ${progress(h, began)}`);
  return { logins, from: h.start, to: h.end, issues, counts: { ...h.counts } };
}

function progress(h: DemoHistory, began: number): string {
  const c = h.counts;
  return `${c.pageViews.toLocaleString('en')} page views, ${c.opens.toLocaleString('en')} opens, ${c.clicks.toLocaleString('en')} clicks, ${(c.calls + c.walkIns).toLocaleString('en')} calls and walk-ins so far (${((Date.now() - began) / 1000).toFixed(1)} s)`;
}
