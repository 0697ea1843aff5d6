import type { ColumnType, Generated } from 'kysely';

/** Row types of every table; times are epoch milliseconds. */
export interface PageViewTable {
  id: Generated<number>;
  at: number;
  path: string;
  referrer_host: string | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_content: string | null;
  utm_term: string | null;
  visitor_hash: string;
  device: 'desktop' | 'mobile' | 'tablet' | 'unknown';
  is_bot: number;
  /** The issue this view is attributed to (utm_campaign = its slug, or its attribution cookie). */
  issue_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** With per-person tracking: the subscriber named by the attribution cookie. */
  subscriber_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** The owner of the viewer's network: AS number and role (src/lib/network). */
  asn: ColumnType<number | null, number | null | undefined, number | null>;
  net: ColumnType<string | null, string | null | undefined, string | null>;
  /** The click this view came through (the redirect's marker cookie): its delivery and time. */
  click_delivery_id: ColumnType<number | null, number | null | undefined, number | null>;
  click_at: ColumnType<number | null, number | null | undefined, number | null>;
  /** Why this view is a machine's (through a machine click, from a machine network), or null for a reader's. */
  machine: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface VisitorSaltTable {
  day: number;
  salt: string;
  created_at: number;
}

export type SubscriberStatus = 'pending' | 'active' | 'unsubscribed' | 'bounced' | 'complained';

export interface SubscriberTable {
  id: Generated<number>;
  email: string;
  name: string | null;
  status: SubscriberStatus;
  paused: Generated<number>;
  created_at: number;
  updated_at: number;
  confirmed_at: number | null;
  unsubscribed_at: number | null;
  source_form: string | null;
  source_campaign: string | null;
  source_issue_id: number | null;
  /** The delivery whose link brought the signup (its attribution cookie: a recipient's click or a forward of it); null otherwise or before 2026-12-21 (issue 19, signups per arm). */
  source_delivery_id: ColumnType<number | null, number | null | undefined, number | null>;
  consent_at: number | null;
  consent_text_version: string | null;
  consent_note: string | null;
  confirmation_sent_at: number | null;
  confirmations_sent: Generated<number>;
  /** The subscriber's phone number as a keyed hash only (callerHash in src/lib/offline/call-webhook.ts, the same as `offline_events.from_hash`); never the number. */
  phone_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** When `phone_hash` was last set or changed; null without a number (the holdout's "on file before the send", issue 19). */
  phone_set_at: ColumnType<number | null, number | null | undefined, number | null>;
  /** When the reader cookie was first set for this subscriber (their first reader's click); null never (issue 19, holdout result). */
  reader_known_at: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface SubscriberTopicTable {
  subscriber_id: number;
  topic: string;
}

export interface SubscriberEventTable {
  id: Generated<number>;
  subscriber_id: number;
  at: number;
  kind: string;
  detail: string | null;
}

export interface SuppressionTable {
  email_hash: string;
  reason: 'bounced' | 'complained' | 'erased' | 'manual';
  at: number;
}

export type UserRole = 'admin' | 'marketer' | 'writer';

export interface UserTable {
  id: Generated<number>;
  /** Trimmed and lower-cased. */
  email: string;
  name: string;
  role: UserRole;
  /** invited: has not chosen a password yet; deactivated: cannot sign in. */
  status: 'invited' | 'active' | 'deactivated';
  /** argon2id (PHC string); null until an invited user chooses a password. */
  password_hash: string | null;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
  /** 1: mail me the weekly digest (admins and marketers; off by default). */
  weekly_digest: Generated<number>;
}

/** One weekly digest to one user, claimed before it is sent (see src/lib/digest). */
export interface DigestSendTable {
  user_id: number;
  /** The Monday of the week it went out, "YYYY-MM-DD" in the site's time zone. */
  week: string;
  claimed_at: number;
  claimed_by: string;
  sent_at: number | null;
  failure: string | null;
}

export interface SessionTable {
  /** The public half of the `id.secret` token. */
  id: string;
  /** SHA-256 (hex) of the secret half; the secret itself is never stored. */
  secret_hash: string;
  user_id: number;
  created_at: number;
  last_verified_at: number;
}

export interface AccountTokenTable {
  /** SHA-256 (hex) of the token sent in the link. */
  token_hash: string;
  purpose: 'setup' | 'invite' | 'reset';
  user_id: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Hits per key in a fixed window, shared by every process (src/lib/security/rate-limit.ts). */
export interface RateLimitTable {
  /** "<rule>:<HMAC of the value under the server secret>": no email or address is stored. */
  key: string;
  hits: number;
  /** When the window ends: a later hit starts a new one. */
  expires_at: number;
}

/** Failed sign-ins per key (an account, a client address, or both), shared by every process (src/lib/auth/login-throttle.ts). */
export interface LoginThrottleTable {
  /** HMAC of the kind and value under the server secret: no email or address is stored. */
  key: string;
  failures: number;
  first_failure_at: number;
  last_failure_at: number;
  /** When the account holder was mailed about this window's failures. */
  notified_at: number | null;
}

/** Where an account has signed in before (keys as in login_throttles). */
export interface LoginAddressTable {
  account_key: string;
  address_key: string;
  last_signed_in_at: number;
}

export interface ApiKeyTable {
  id: Generated<number>;
  name: string;
  role: UserRole;
  /** SHA-256 (hex) of the whole key. */
  key_hash: string;
  /** The first characters of the key, shown in the admin to tell keys apart. */
  key_prefix: string;
  created_by: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface SettingTable {
  key: string;
  /** JSON. */
  value: string;
  updated_at: number;
  updated_by: number | null;
}

export type IssueStatus = 'draft' | 'scheduled' | 'sending' | 'sent' | 'cancelled';

/** A newsletter issue (src/lib/issues). `featured_articles` is JSON: the article cards as saved. */
export interface IssueTable {
  id: Generated<number>;
  slug: string;
  subject: string;
  preheader: string;
  body_markdown: string;
  featured_articles: string;
  status: IssueStatus;
  created_by: number | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  /** Normalised ("+441632960001"); calls to it are credited to this issue. */
  tracked_phone: ColumnType<string | null, string | null | undefined, string | null>;
  /** The tracked number as typed, for people to read; tracked_phone is what calls are matched on. */
  tracked_phone_display: ColumnType<string | null, string | null | undefined, string | null>;
}

export type IssueLinkKind = 'site' | 'external' | 'tel' | 'mailto' | 'honeypot';

/** A link of an issue, registered when it is rendered: click redirects go only to these. `url` is the target, UTM tags included. */
export interface IssueLinkTable {
  id: Generated<number>;
  issue_id: number;
  /** 1-based order of the link in the email. */
  position: number;
  url: string;
  label: string;
  kind: IssueLinkKind;
  fingerprint: string;
  created_at: number;
  /** When the latest rendering of the draft no longer had this link (null while it has it). */
  retired_at: ColumnType<number | null, number | null | undefined, number | null>;
}

/** The frozen issue (when sending starts): templates with per-recipient placeholders. */
export interface IssueSnapshotTable {
  issue_id: number;
  subject: string;
  from_address: string;
  reply_to: string | null;
  html: string;
  text: string;
  /** JSON: the header template (List-Id, …, Message-ID domain, List-Unsubscribe mailto). */
  headers: string;
  /** The body for the web archive: plain links, no tracking. */
  archive_html: string;
  /** JSON: the issue_links ids of the email's links, in position order. */
  link_ids: string;
  open_tracking: number;
  click_tracking: number;
  site_url: string;
  created_at: number;
  /** Keyed hash of the issue's tracked number (as `offline_events.to_hash`); null without one. */
  tracked_phone_hash: string | null;
}

export type OpenClass = 'human' | 'proxy' | 'apple_mpp' | 'scanner';
export type ClickClass = 'human' | 'bot';

/** Every open-pixel load of a live delivery, classified with its reason (src/lib/tracking). */
export interface OpenTable {
  id: Generated<number>;
  issue_id: number;
  delivery_id: number | null;
  /** Only with per-person tracking on; null after the subscriber is deleted. */
  subscriber_id: number | null;
  at: number;
  class: OpenClass;
  reason: string;
  /** Who sent it: the owner's AS number and role, and the agent's family (never the address or agent). */
  asn: ColumnType<number | null, number | null | undefined, number | null>;
  net: ColumnType<string | null, string | null | undefined, string | null>;
  agent: ColumnType<string | null, string | null | undefined, string | null>;
  /** The mail program's family and the device class its agent named (MailClientFamily, DeviceClass); null on rows stored before they were kept. */
  client: ColumnType<string | null, string | null | undefined, string | null>;
  device: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Every click redirect of a live delivery (HEAD never), classified with its reason. */
export interface ClickTable {
  id: Generated<number>;
  issue_id: number;
  link_id: number;
  delivery_id: number | null;
  subscriber_id: number | null;
  at: number;
  class: ClickClass;
  reason: string;
  /** Who sent it: the owner's AS number and role, and the agent's family (never the address or agent). */
  asn: ColumnType<number | null, number | null | undefined, number | null>;
  net: ColumnType<string | null, string | null | undefined, string | null>;
  agent: ColumnType<string | null, string | null | undefined, string | null>;
  /** The mail program's family and the device class its agent named (MailClientFamily, DeviceClass); null on rows stored before they were kept. */
  client: ColumnType<string | null, string | null | undefined, string | null>;
  device: ColumnType<string | null, string | null | undefined, string | null>;
}

/**
 * A link of a delivery fetched without being a click: a HEAD request on a tracked link, or the
 * unsubscribe page opened (a GET, which unsubscribes nobody). Counted in no figure; a sweep
 * reads them (a scanner follows every link, the unsubscribe link included).
 */
export interface LinkCheckTable {
  id: Generated<number>;
  issue_id: number;
  delivery_id: number | null;
  /** The tracked link (null for the unsubscribe page). */
  link_id: number | null;
  kind: 'head' | 'unsubscribe';
  at: number;
  asn: number | null;
  net: string | null;
  agent: string | null;
}

/** A run of page views by one visitor with gaps under 30 minutes, maintained as views arrive. */
export interface VisitTable {
  id: Generated<number>;
  /** "s:<subscriber id>" when the attribution cookie names the subscriber, else "h:<visitor hash>". */
  visitor_key: string;
  started_at: number;
  last_seen: number;
  views: number;
  landing_path: string;
  issue_id: number | null;
  delivery_id: number | null;
  subscriber_id: number | null;
  /** 'utm' (landed with utm_campaign = the issue's slug) or 'cookie' (carried its attribution cookie). */
  attributed_by: 'utm' | 'cookie' | null;
  /** 1: an attributed visit starting after the visitor's first landing from the issue. */
  is_later: Generated<number>;
  /** With delivery_id: the time of the click its landing came through (null when attributed otherwise). */
  click_at: ColumnType<number | null, number | null | undefined, number | null>;
  /** The subscriber the reader cookie named on the visit's first view (issue 19, holdout result); null without one or after their erasure. */
  reader_subscriber_id: ColumnType<number | null, number | null | undefined, number | null>;
}

export type OfflineEventKind = 'call' | 'walk_in';
export type OfflineEventSource = 'tally' | 'manual' | 'csv' | 'webhook';

/** A phone call or walk-in (src/lib/offline): from the tally page, the admin, a CSV import or the call webhook. */
export interface OfflineEventTable {
  id: Generated<number>;
  kind: OfflineEventKind;
  /** When it happened. */
  at: number;
  /** When Footfall stored it. */
  recorded_at: number;
  source: OfflineEventSource;
  /** Who tapped or typed it; null for the webhook (and once the user is deleted). */
  recorded_by: number | null;
  /** 1 said so, 0 said not, null not asked. */
  mentioned_newsletter: number | null;
  note: string | null;
  /** The issue credited with it (a CSV row's issue slug; a call to the issue's tracked number). */
  issue_id: number | null;
  /** Idempotency key: the browser's UUID for a tally tap, `csv:…` / `webhook:…` otherwise. UNIQUE. */
  client_id: string | null;
  /** Webhook calls: keyed hash (HMAC with the server secret) of the caller's number — never the number. */
  from_hash: string | null;
  /**
   * Webhook calls: keyed hash of the number that was called (ours, e.g. an issue's tracked number;
   * the caller's function, src/lib/phone/phone-hash.ts) — never the number. Credited by comparing it
   * with `issue_snapshots.tracked_phone_hash`.
   */
  to_hash: string | null;
  duration_s: number | null;
  /** Soft delete: undone on the tally page or removed in the admin; counts skip it. */
  undone_at: number | null;
  undone_by: number | null;
  /** Calls: the subscriber whose `phone_hash` equalled `from_hash` when the call was recorded; null after their erasure. */
  subscriber_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** Calls: 1 answered, 0 missed, null when the source did not say. */
  answered: ColumnType<number | null, number | null | undefined, number | null>;
  /** Calls: 1 an earlier call from the same `from_hash` was on record when stored, 0 first-time, null caller unknown. */
  repeat_caller: ColumnType<number | null, number | null | undefined, number | null>;
}

/**
 * The caller hashes with a counted call (kind 'call', not undone) in `offline_events`: a row
 * means a repeat caller. Kept in step with the calls in the same transactions
 * (src/lib/offline/callers.repository.ts).
 */
export interface CallerTable {
  from_hash: string;
}

export type SendState = 'scheduled' | 'running' | 'paused' | 'cancelled' | 'finished';

/** One send of one issue: its audience, schedule and state (src/lib/sending). */
export interface SendTable {
  id: Generated<number>;
  issue_id: number;
  /** JSON: {"topics":["guides"]} or {} for every active subscriber. */
  audience: string;
  state: SendState;
  /** When sending starts (epoch ms); the audience is frozen then. */
  scheduled_at: number;
  paused_reason: string | null;
  consecutive_failures: Generated<number>;
  /** Ledger rows made when the audience was frozen; null until then. */
  recipients: number | null;
  created_by: number | null;
  created_by_key: number | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  cancelled_at: number | null;
}

/** `held_out`: a recipient an experiment's holdout withholds the issue from (never sent, never counted as delivered or skipped). */
export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'bounced' | 'skipped' | 'held_out';

/** The ledger: one row per recipient of an issue, UNIQUE(issue_id, subscriber_id). */
export interface DeliveryTable {
  id: Generated<number>;
  /** The issue (and so its one send). */
  issue_id: number;
  /** Null once the subscriber was deleted: the row (and the counts) stay. */
  subscriber_id: number | null;
  status: DeliveryStatus;
  /** Why skipped, failed or bounced (or the last temporary failure of a queued retry). */
  reason: string | null;
  attempts: Generated<number>;
  next_attempt_at: number;
  /** The worker holding the claim and when it claimed (or renewed) it: the lease. */
  claimed_by: string | null;
  claimed_at: number | null;
  sent_at: number | null;
  message_id: string | null;
  smtp_response: string | null;
  complained_at: number | null;
  first_opened_at: number | null;
  first_clicked_at: number | null;
  first_visit_at: number | null;
  /** First open of any class (first_opened_at is the first likely-human one). */
  first_any_open_at: ColumnType<number | null, number | null | undefined, number | null>;
  /** The links this delivery's reader clicked (human clicks), as ",12,15,": unique clickers per link. */
  clicked_links: ColumnType<string | null, string | null | undefined, string | null>;
  /** The delivery's machine verdict (a honeypot click, a sweep, a gateway's first click): when, why, and the source it names ("<asn>|<role>|<agent family>"). */
  machine_at: ColumnType<number | null, number | null | undefined, number | null>;
  machine_reason: ColumnType<string | null, string | null | undefined, string | null>;
  machine_source: ColumnType<string | null, string | null | undefined, string | null>;
  /** The source of its first reader sign (a human open or click), "<asn>|<role>|<agent family>". */
  reader: ColumnType<string | null, string | null | undefined, string | null>;
  /** Its latest link hit (click, HEAD, unsubscribe page): a sweep reads recent ones only when there are some. */
  last_link_at: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: number;
  /** The experiment arm (src/lib/experiments): 'A'..'D', 'rest' or 'holdout'; null without an experiment. */
  arm: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Running send workers (heartbeat); on SQLite the one slot "sqlite" is the single-worker lock. */
export interface SendWorkerTable {
  slot: string;
  worker_id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
  /** Set while the worker cannot record outcomes: since when, attempts so far, the last error. */
  failing_since: ColumnType<number | null, number | null | undefined, number | null>;
  failing_attempts: ColumnType<number, number | undefined, number>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Maintained event counts for reports (see the 2026_11_26_220000 migration). */
export interface ReportCountTable {
  /** 0 for the whole site. */
  issue_id: number;
  metric: string;
  /** A link id, a path, a campaign or a referrer host; '' for plain metrics. */
  dim: string;
  /** Start of the time bucket (15 minutes; one hour for per-page and per-source metrics; 0 for totals). */
  bucket: number;
  n: number;
}

export type ExperimentState = 'testing' | 'waiting' | 'sending_winner' | 'finished' | 'stopped';
export type ExperimentMeasure = 'human_clickers' | 'human_openers';
export type ExperimentDecidedHow = 'auto' | 'picked' | 'within_noise' | 'stopped';

/** An experiment on an issue's send (src/lib/experiments): an A/B test, a holdout, or both. */
export interface ExperimentTable {
  issue_id: number;
  seed: string;
  /** Share of the audience split evenly between the variants (0 without an A/B test). */
  test_share: number;
  /** Share of the audience held out (0 = no holdout; at most 0.5). */
  holdout_share: number;
  /** How long after the send started the winner is decided. */
  wait_ms: number;
  measure: ExperimentMeasure;
  state: ExperimentState;
  winner_arm: string | null;
  decided_at: number | null;
  decided_how: ExperimentDecidedHow | null;
  created_at: number;
}

/** One arm of an experiment: 'A'..'D' (variants), 'rest', 'holdout'. */
export interface ExperimentArmTable {
  issue_id: number;
  arm: string;
  subject: string | null;
  preheader: string | null;
  /** A variant's own body; null: the issue's. */
  body_markdown: string | null;
  /** A variant's rendered message (html, text templates) and its link ids (JSON), frozen when sending starts. */
  html: string | null;
  text: string | null;
  link_ids: string | null;
  /** Ledger rows in the arm; null until the audience is frozen. */
  size: number | null;
}

export interface Database {
  report_counts: ReportCountTable;
  opens: OpenTable;
  clicks: ClickTable;
  link_checks: LinkCheckTable;
  visits: VisitTable;
  page_views: PageViewTable;
  visitor_salts: VisitorSaltTable;
  users: UserTable;
  digest_sends: DigestSendTable;
  sessions: SessionTable;
  account_tokens: AccountTokenTable;
  api_keys: ApiKeyTable;
  login_throttles: LoginThrottleTable;
  rate_limits: RateLimitTable;
  login_addresses: LoginAddressTable;
  settings: SettingTable;
  subscribers: SubscriberTable;
  subscriber_topics: SubscriberTopicTable;
  subscriber_events: SubscriberEventTable;
  suppressions: SuppressionTable;
  issues: IssueTable;
  issue_links: IssueLinkTable;
  issue_snapshots: IssueSnapshotTable;
  sends: SendTable;
  deliveries: DeliveryTable;
  send_workers: SendWorkerTable;
  offline_events: OfflineEventTable;
  callers: CallerTable;
  bounce_events: BounceEventTable;
  bounce_mailboxes: BounceMailboxTable;
  door_counters: DoorCounterTable;
  door_counts: DoorCountTable;
  experiments: ExperimentTable;
  experiment_arms: ExperimentArmTable;
}

/** A bounce or complaint a relay reported after accepting a message (src/lib/bounces). */
export interface BounceEventTable {
  id: Generated<number>;
  /** The delivery's issue; 0 when the report names no delivery we know. */
  issue_id: number;
  delivery_id: number | null;
  /** Null when no subscriber is known, or once they were erased (the row and its counts stay). */
  subscriber_id: number | null;
  kind: 'hard' | 'soft' | 'complaint';
  /** What the relay said, addresses masked; '' when it said nothing. */
  reason: string;
  source: string;
  /** The source's own id of the event: a retry with the same key stores nothing. */
  event_key: string | null;
  at: number;
  recorded_at: number;
}

/** A bounce mailbox read over IMAP (bounces/mailbox): its one-reader lease and the status Settings shows. */
export interface BounceMailboxTable {
  /** user@host:port/folder (never the password). */
  mailbox: string;
  lease_holder: string | null;
  lease_until: number | null;
  last_poll_at: number | null;
  last_success_at: number | null;
  /** Delivery-status and complaint reports processed and moved, in all. */
  reports: Generated<number>;
  /** Other messages moved aside (not a report, or unreadable), in all. */
  others: Generated<number>;
  last_error: string | null;
  last_error_at: number | null;
}

/** A door counter (a shop door), named in Settings, with its staff rule (src/lib/door). */
export interface DoorCounterTable {
  id: Generated<number>;
  /** What the counter sends as `counter`: lower-case letters, digits, - and _. UNIQUE. */
  key: string;
  name: string;
  /** Staff passing through: this many in (and out) a day are not counted, the day's first. */
  staff_per_day: number;
  /** JSON: seven [open, close) minute-of-day pairs or null (closed), Monday first; null = no hours rule. */
  opening_hours: string | null;
  /** The IANA zone the rule's days and hours are read in: the site's when the rule was last saved. */
  time_zone: string;
  created_at: number;
}

/** One interval count a door counter reported: people in (and out) during [from_at, to_at). */
export interface DoorCountTable {
  id: Generated<number>;
  counter_id: number;
  from_at: number;
  to_at: number;
  count_in: number;
  count_out: number | null;
  recorded_at: number;
  source: 'webhook' | 'csv';
}
