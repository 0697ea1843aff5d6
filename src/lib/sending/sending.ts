import type { Selectable, Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, IssueStatus, SendTable } from '../db/schema.ts';
import type { Outcome } from '../outcome.ts';
import type { OutgoingMail } from '../mail/message.ts';
import type { TopicId } from '../subscribers/topics.ts';
import type { PeopleRule } from '../reports/people.ts';

export type { DeliveryStatus, SendState } from '../db/schema.ts';

export type Db = DB | Transaction<Database>;
export type Send = Selectable<SendTable>;

/**
 * Who gets an issue: every active subscriber who has not paused, or only those with one of
 * `topics`, or only the people behind a figure of an earlier issue's report (`behaviour`:
 * "everyone who clicked the winter guide"), resolved when the audience is frozen.
 */
export interface Audience {
  topics?: TopicId[];
  behaviour?: PeopleRule;
}

/** A ledger row a worker holds: claimed (status `sending`), not yet sent. */
export interface ClaimedDelivery {
  id: number;
  sendId: number;
  issueId: number;
  subscriberId: number | null;
  /** Attempts made before this one. */
  attempts: number;
  /** Its experiment arm ('A'..'D', 'rest'), or null: which message it gets. */
  arm?: string | null;
}

/** The person a delivery goes to, read from `subscribers` just before sending (the ledger keeps no address). */
export interface Recipient {
  deliveryId: number;
  issueId: number;
  subscriberId: number;
  email: string;
  name: string | null;
}

/**
 * Turns one recipient into the message they get. Made once per issue and worker from the
 * issue's frozen snapshot; called once per recipient, so it must be cheap (no rendering).
 */
export type Composer = (recipient: Recipient) => OutgoingMail | Promise<OutgoingMail>;

/** An A/B test variant's content, in the order A, B, …: what the pre-send checks look at. */
export interface VariantToCheck {
  subject: string;
  preheader: string;
  /** Its own body; null: the issue's. */
  bodyMarkdown: string | null;
}

/** What the engine needs from the issues domain, so the sending engine does not depend on how an issue is rendered. */
export interface IssueHooks {
  /**
   * The issue exists, may be sent and passes its pre-send checks, and so does each A/B test
   * variant given (its subject, preheader and body as its recipients get them); otherwise a
   * refusal with one sentence.
   */
  checkIssue(db: DB, issueId: number, variants?: readonly VariantToCheck[]): Promise<Outcome<unknown>>;
  /** Freezes the issue's content when sending starts (idempotent); may refuse with a sentence. */
  prepareIssue(db: DB, issueId: number, now: number): Promise<{ ok: true } | { ok: false; message: string }>;
  /**
   * A composer over the frozen issue, compiled once per issue (and experiment arm) and process
   * (callers keep no copy). `arm`: a variant's own subject, preheader and body; 'rest' the winner's.
   */
  composerFor(db: DB, issueId: number, arm?: string | null): Promise<Composer>;
  /** Moves the issue along with its send (scheduled, sending, sent, cancelled, back to draft), in the caller's transaction. */
  setIssueStatus(db: Db, issueId: number, from: readonly IssueStatus[], to: IssueStatus, now: number): Promise<void>;
}

/** Numbers shown while sending and after: straight from the ledger. */
export interface DeliveryCounts {
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  bounced: number;
  skipped: number;
  total: number;
}

export function parseAudience(json: string): Audience {
  try {
    const value = JSON.parse(json) as Audience;
    return {
      ...(Array.isArray(value.topics) && value.topics.length > 0 ? { topics: value.topics } : {}),
      ...(value.behaviour && typeof value.behaviour === 'object' ? { behaviour: value.behaviour } : {}),
    };
  } catch {
    return {};
  }
}
