import type { DB } from '../db/database.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { RenderedEmail } from '../mail/templates.ts';
import { EMAIL_NAME_HEADER } from '../mail/site-email.ts';
import { issueReport, type IssueReport } from '../reports/issue-report.service.ts';
import { findSendTimes } from '../reports/reports.repository.ts';
import { getSettings, senderMailbox, type Settings } from '../settings/settings.service.ts';
import { digestStopUrl } from './digest-links.ts';
import {
  findDigestClaims,
  findDigestRecipients,
  findWeeklyDigest,
  insertDigestClaim,
  markDigestFailed,
  markDigestSent,
  reclaimFailedDigest,
  setWeeklyDigest,
  type DigestRecipient,
} from './digest.repository.ts';
import { digestWeekOf, dueDigestWeek, type DigestWeek } from './digest-week.ts';

/** A failed digest is tried again after this long, until the week is over. */
export const DIGEST_RETRY_MS = 15 * 60_000;

/** What a digest says: the week it covers and the reports of the issues sent in it — the same reports the admin shows. */
export interface DigestContent {
  week: DigestWeek;
  settings: Settings;
  reports: IssueReport[];
  generatedAt: number;
}

export type ComposeDigest = (
  content: DigestContent,
  recipient: { name: string; stopUrl: string },
) => Promise<RenderedEmail>;

export interface DigestDeps {
  db: DB;
  mailer: Pick<Mailer, 'send'>;
  secret: string;
  compose: ComposeDigest;
  log?: (line: string) => void;
}

/** The issues whose send started in the week, with their reports as of `now`. */
export async function digestContent(db: DB, week: DigestWeek, now: number): Promise<DigestContent> {
  const settings = await getSettings(db, { now });
  const issueIds = [
    ...new Set(
      (await findSendTimes(db)).filter((s) => s.sentAt >= week.from && s.sentAt < week.to).map((s) => s.issueId),
    ),
  ];
  const reports = (await Promise.all(issueIds.map((id) => issueReport(db, id, { now })))).filter(
    (r): r is IssueReport => r !== undefined,
  );
  return { week, settings, reports, generatedAt: now };
}

/** The digest as `recipient` would get it this week (the admin's preview): covering the last whole week. */
export async function previewDigest(
  deps: Pick<DigestDeps, 'db' | 'secret' | 'compose'>,
  recipient: { id: number; name: string },
  now: number,
): Promise<RenderedEmail> {
  const settings = await getSettings(deps.db, { now });
  const content = await digestContent(deps.db, digestWeekOf(now, settings.timeZone), now);
  return deps.compose(content, {
    name: recipient.name,
    stopUrl: digestStopUrl({ secret: deps.secret, siteUrl: settings.siteUrl }, recipient.id),
  });
}

async function claim(
  db: DB,
  recipient: DigestRecipient,
  week: string,
  claimedBy: string,
  now: number,
): Promise<boolean> {
  return (
    (await insertDigestClaim(db, recipient.id, week, claimedBy, now)) ||
    (await reclaimFailedDigest(db, recipient.id, week, claimedBy, now, now - DIGEST_RETRY_MS))
  );
}

/**
 * Sends this week's digest to everyone who asked for it and has not had it: once Monday 08:00
 * (site time) has passed, each (user, week) row is claimed in the database before the mail
 * goes out, so a restart or a second worker never sends it twice. A refused mail is recorded
 * on its row and tried again later that week. Returns how many went out.
 */
export async function sendWeeklyDigests(deps: DigestDeps, claimedBy: string, now = Date.now()): Promise<number> {
  const settings = await getSettings(deps.db, { now });
  const week = dueDigestWeek(now, settings.timeZone);
  if (!week) return 0;
  const recipients = await findDigestRecipients(deps.db);
  if (recipients.length === 0) return 0;
  // Skip the ones already done without a write; the claim below is what decides.
  const claims = new Map((await findDigestClaims(deps.db, week.week)).map((c) => [c.userId, c]));
  const waiting = recipients.filter((r) => {
    const c = claims.get(r.id);
    return !c || (c.sentAt === null && c.failure !== null && c.claimedAt < now - DIGEST_RETRY_MS);
  });
  if (waiting.length === 0) return 0;
  let content: DigestContent | undefined;
  let sent = 0;
  for (const recipient of waiting) {
    if (!(await claim(deps.db, recipient, week.week, claimedBy, now))) continue;
    try {
      content ??= await digestContent(deps.db, week, now);
      const mail = await deps.compose(content, {
        name: recipient.name,
        stopUrl: digestStopUrl({ secret: deps.secret, siteUrl: settings.siteUrl }, recipient.id),
      });
      await deps.mailer.send(
        {
          to: { name: recipient.name, address: recipient.email },
          from: senderMailbox(settings),
          subject: mail.subject,
          html: mail.html,
          text: mail.text,
          headers: { [EMAIL_NAME_HEADER]: 'weekly-digest' },
        },
        now,
      );
      await markDigestSent(deps.db, recipient.id, week.week, Date.now());
      sent++;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      deps.log?.(`[digest] the weekly digest to user ${recipient.id} was not sent: ${reason}`);
      await markDigestFailed(deps.db, recipient.id, week.week, reason);
    }
  }
  return sent;
}

export type DigestChoice =
  { ok: true; on: boolean } | { ok: false; reason: 'not_found' | 'not_allowed'; message: string };

/** Whether a user gets the weekly digest. */
export async function getsWeeklyDigest(db: DB, userId: number): Promise<boolean> {
  return (await findWeeklyDigest(db, userId))?.on ?? false;
}

/** The account a digest's stop link names: its address and whether the digest is on (undefined when it is gone). */
export async function digestAccount(db: DB, userId: number): Promise<{ on: boolean; email: string } | undefined> {
  const account = await findWeeklyDigest(db, userId);
  return account && { on: account.on, email: account.email };
}

/** Turns the digest on or off for a user; only admins and marketers (who may read reports) can have it. */
export async function chooseWeeklyDigest(db: DB, userId: number, on: boolean, now = Date.now()): Promise<DigestChoice> {
  const user = await findWeeklyDigest(db, userId);
  if (!user) return { ok: false, reason: 'not_found', message: 'This account no longer exists.' };
  if (on && user.role !== 'admin' && user.role !== 'marketer')
    return {
      ok: false,
      reason: 'not_allowed',
      message: 'The weekly digest is for admins and marketers: it holds the reports.',
    };
  await setWeeklyDigest(db, userId, on, now);
  return { ok: true, on };
}

/** The stop link in a digest: turns it off for the user the link names. */
export async function stopWeeklyDigest(db: DB, userId: number, now = Date.now()): Promise<DigestChoice> {
  return chooseWeeklyDigest(db, userId, false, now);
}
