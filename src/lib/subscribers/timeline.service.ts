import type { DB } from '../db/database.ts';
import { findIssueSubjects } from '../issues/issues.repository.ts';
import { findTrackingEventsBySubscriber, type TimelineEntry as TrackingRow } from '../tracking/reads.repository.ts';
import { findSubscriberEvents } from './subscribers.repository.ts';
import { findBounceEventsBySubscriber } from '../bounces/bounces.repository.ts';

/**
 * A subscriber's whole timeline for the admin: what happened to their record (subscriber_events)
 * and what they did with the newsletters (opens, clicks and attributed visits, stored with
 * per-person tracking on) and the bounces and complaints relays reported (bounce_events), merged
 * newest first, each tracking event and bounce with its issue's subject.
 */

export interface TimelineIssue {
  id: number;
  subject: string;
}

export type SubscriberTimelineItem =
  | { source: 'subscriber'; at: number; kind: string; detail: string | null }
  | { source: 'tracking'; at: number; kind: 'opened'; issue: TimelineIssue | null; class: string; reason: string }
  | { source: 'tracking'; at: number; kind: 'clicked'; issue: TimelineIssue | null; class: string; url: string }
  | {
      source: 'bounce';
      at: number;
      kind: 'hard' | 'soft' | 'complaint';
      issue: TimelineIssue | null;
      reason: string;
      /** Who reported it: webhook, ses, postmark, mailgun, sendgrid, mailbox, smtp. */
      via: string;
    }
  | {
      source: 'tracking';
      at: number;
      kind: 'visited';
      issue: TimelineIssue | null;
      landingPath: string;
      later: boolean;
    };

export interface SubscriberTimeline {
  items: SubscriberTimelineItem[];
  /** True when older entries exist than the oldest shown. */
  truncated: boolean;
}

const LATER_SUFFIX = ' (later visit)';

/** "human: reader" → ["human", "reader"]: how findTrackingEventsBySubscriber words an open's or a click's detail. */
function classAndRest(detail: string): [string, string] {
  const at = detail.indexOf(': ');
  return at === -1 ? [detail, ''] : [detail.slice(0, at), detail.slice(at + 2)];
}

function trackingItem(row: TrackingRow, subjects: ReadonlyMap<number, string>): SubscriberTimelineItem {
  const subject = row.issueId === null ? undefined : subjects.get(row.issueId);
  const issue = row.issueId !== null && subject !== undefined ? { id: row.issueId, subject } : null;
  if (row.kind === 'opened') {
    const [klass, reason] = classAndRest(row.detail);
    return { source: 'tracking', at: row.at, kind: 'opened', issue, class: klass, reason };
  }
  if (row.kind === 'clicked') {
    const [klass, url] = classAndRest(row.detail);
    return { source: 'tracking', at: row.at, kind: 'clicked', issue, class: klass, url };
  }
  const later = row.detail.endsWith(LATER_SUFFIX);
  return {
    source: 'tracking',
    at: row.at,
    kind: 'visited',
    issue,
    landingPath: later ? row.detail.slice(0, -LATER_SUFFIX.length) : row.detail,
    later,
  };
}

/**
 * Up to `limit` entries from each source, merged. When a source has more than `limit`, the
 * merged list stops at that source's oldest entry shown: past it, entries from that source
 * would be missing, and the timeline would look complete when it is not.
 */
export async function getSubscriberTimeline(db: DB, subscriberId: number, limit = 500): Promise<SubscriberTimeline> {
  const [events, tracking, bounces] = await Promise.all([
    findSubscriberEvents(db, subscriberId, limit),
    findTrackingEventsBySubscriber(db, subscriberId, limit),
    findBounceEventsBySubscriber(db, subscriberId, limit),
  ]);
  const issueIds = [
    ...new Set([
      ...tracking.map((row) => row.issueId).filter((id): id is number => id !== null),
      ...bounces.map((row) => row.issueId).filter((id) => id !== 0),
    ]),
  ];
  const subjects = await findIssueSubjects(db, issueIds);
  const merged: SubscriberTimelineItem[] = [
    ...events.map((e) => ({ source: 'subscriber' as const, at: Number(e.at), kind: e.kind, detail: e.detail })),
    ...tracking.map((row) => trackingItem(row, subjects)),
    ...bounces.map((row) => {
      const subject = subjects.get(row.issueId);
      return {
        source: 'bounce' as const,
        at: row.at,
        kind: row.kind,
        issue: subject === undefined ? null : { id: row.issueId, subject },
        reason: row.reason,
        via: row.source,
      };
    }),
  ].sort((a, b) => b.at - a.at);
  const cutOffs = [events, tracking, bounces]
    .filter((list) => list.length >= limit)
    .map((list) => Number(list.at(-1)!.at));
  if (cutOffs.length === 0) return { items: merged, truncated: false };
  const oldestComplete = Math.max(...cutOffs);
  return { items: merged.filter((item) => item.at >= oldestComplete).slice(0, limit), truncated: true };
}
