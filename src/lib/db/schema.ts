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

export interface Database {
  page_views: PageViewTable;
  visitor_salts: VisitorSaltTable;
}
