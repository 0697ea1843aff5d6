/**
 * Every metric name the maintained counts (`report_counts.metric`) hold, by how it is bucketed.
 * Writers and readers take these types, so a misspelt name does not compile. A grain's copy of a
 * metric is its name with the grain's suffix (buckets.ts), never a name of its own here.
 */

/** Counted at a time: per 15 minutes, hour, UTC day and in total (`CountDeltas.at`). */
export type PlainMetric =
  // Opens and clicks by class (tracking).
  | 'open.human'
  | 'open.proxy'
  | 'open.apple_mpp'
  | 'open.scanner'
  | 'click.human'
  | 'click.bot'
  // A delivery's first times, counted in the bucket of the first time (tracking, analytics).
  | 'first.open'
  | 'first.open_human'
  | 'first.click'
  | 'first.visit'
  // The site's page views and visits (analytics); a machine's page views apart.
  | 'pageview'
  | 'view.machine'
  | 'visit'
  | 'visit.later'
  // Subscribers.
  | 'signup'
  | 'unsubscribe'
  // Offline: calls and walk-ins, and those that mentioned the newsletter.
  | 'call'
  | 'walk_in'
  | 'call.mentioned'
  | 'walk_in.mentioned'
  // Bounces and complaints a relay reported later (bounces), per issue (0: no delivery known).
  | 'bounce.hard'
  | 'bounce.soft'
  | 'complaint'
  // Calls from the phone provider: answered or missed, first-time or repeat caller (offline).
  | 'call.answered'
  | 'call.missed'
  | 'call.first_time'
  | 'call.repeat'
  // People through the door: door counters' interval counts, placed proportionally (src/lib/door).
  | 'door.in'
  | 'door.out';

/** Plain metrics also counted per minute (`metric~m`, `CountDeltas.atToTheMinute`): the lift's windows start at the send's minute. */
export type MinuteMetric = Extract<PlainMetric, 'visit' | 'call' | 'walk_in' | 'door.in'>;

/** Counted per page or per source, per hour and UTC day (`CountDeltas.dimAt`). */
export type DimMetric = 'path.views' | 'path.newsletter' | 'source.campaign' | 'source.referrer';

/**
 * One total per link, per network owner, or per class, mail program and device of a hit
 * (`agent.*`, dimension `class|client|device`) (bucket 0, `CountDeltas.add`).
 */
export type TotalByDimMetric =
  | 'link.human'
  | 'link.bot'
  | 'link.clickers'
  | 'owner.open'
  | 'owner.click'
  | 'owner.view'
  | 'agent.open'
  | 'agent.click'
  // Bounces and complaints per kind and reason, dimension `kind|reason` (bounces).
  | 'bounce.reason'
  // Later visits by an experiment arm's recipients (dimension: the delivery's arm, issue 19).
  | 'arm.visit_later'
  // Confirmed signups a delivery's link brought (its reader's click or a forward of it), by the delivery's arm (issue 19).
  | 'arm.signup';

/**
 * An experiment arm's first times (issue 19): deliveries of the arm (dimension) opened
 * likely-human, clicked and visited, per hour of the first time and in total (`metric~t`, bucket 0),
 * moved with the delivery's first times (`CountDeltas.armAt`).
 */
export type ArmMetric = 'arm.open_human' | 'arm.click' | 'arm.visit';
