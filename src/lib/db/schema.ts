import type { Generated } from 'kysely';

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
  consent_at: number | null;
  consent_text_version: string | null;
  consent_note: string | null;
  confirmation_sent_at: number | null;
  confirmations_sent: Generated<number>;
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

export interface Database {
  page_views: PageViewTable;
  visitor_salts: VisitorSaltTable;
  subscribers: SubscriberTable;
  subscriber_topics: SubscriberTopicTable;
  subscriber_events: SubscriberEventTable;
  suppressions: SuppressionTable;
}
