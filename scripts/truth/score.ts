import {
  CLICK_LABELS,
  labelEvents,
  OPEN_LABELS,
  type Corpus,
  type CorpusCase,
  type LabelledEvent,
  type TrueFigures,
} from './corpus.ts';

/** A recorded open or click as stored, in the order it was stored. */
export interface RecordedHit {
  class: string;
  reason: string;
}

export interface CaseHits {
  opens: RecordedHit[];
  clicks: RecordedHit[];
}

export interface ScoredError {
  case: string;
  event: number;
  what: string;
  expected: string;
  got: string;
  reason: string;
}

export interface Confusion {
  labels: readonly string[];
  /** counts[expected][got]; "not recorded" is a column of its own. */
  counts: Record<string, Record<string, number>>;
}

export interface TruthScore {
  /** Recorded hits (open and click rows) that the corpus labels. */
  recorded: number;
  correct: number;
  accuracy: number;
  opens: Confusion;
  clicks: Confusion;
  errors: ScoredError[];
}

export const NOT_RECORDED = 'not recorded';

function confusion(labels: readonly string[]): Confusion {
  const counts: Record<string, Record<string, number>> = {};
  for (const e of labels) counts[e] = Object.fromEntries([...labels, NOT_RECORDED].map((g) => [g, 0]));
  return { labels, counts };
}

const describeEvent = (e: LabelledEvent) => `${e.kind}${e.kind === 'click' ? ` ${e.link}` : ''} at ${e.after_send_s} s`;

/**
 * Each labelled hit against what was stored for its case (the i-th recorded open event is the
 * case's i-th open row, clicks alike: the replay sends a case's hits one after the other).
 * Class accuracy is over recorded hits; a labelled hit with no row counts as wrong. HEAD and
 * unsubscribe hits carry no label: they are right when nothing is recorded for them.
 */
export function scoreCorpus(corpus: Corpus, hitsOf: (c: CorpusCase) => CaseHits): TruthScore {
  const opens = confusion(OPEN_LABELS);
  const clicks = confusion(CLICK_LABELS);
  const errors: ScoredError[] = [];
  let recorded = 0;
  let correct = 0;
  for (const c of corpus.cases) {
    const hits = hitsOf(c);
    const next = { open: 0, click: 0 };
    for (const e of labelEvents(c)) {
      if (!e.recorded) continue;
      const row = (e.kind === 'open' ? hits.opens : hits.clicks)[next[e.kind]++];
      const expected = e.expected!;
      const got = row?.class ?? NOT_RECORDED;
      recorded++;
      (e.kind === 'open' ? opens : clicks).counts[expected]![got]! += 1;
      if (got === expected) correct++;
      else
        errors.push({
          case: c.name,
          event: e.index + 1,
          what: describeEvent(e),
          expected,
          got,
          reason: row?.reason ?? 'no row was stored for this hit',
        });
    }
    for (const kind of ['open', 'click'] as const) {
      const rows = kind === 'open' ? hits.opens : hits.clicks;
      for (let i = next[kind]; i < rows.length; i++)
        errors.push({
          case: c.name,
          event: 0,
          what: `an extra ${kind} row`,
          expected: NOT_RECORDED,
          got: rows[i]!.class,
          reason: rows[i]!.reason,
        });
    }
  }
  return { recorded, correct, accuracy: recorded === 0 ? 1 : correct / recorded, opens, clicks, errors };
}

export interface FigureComparison {
  name: string;
  shown: number;
  truth: number;
  /** (shown − true) / true; 0 when both are 0. */
  error: number;
}

export function compareFigures(shown: TrueFigures, truth: TrueFigures): FigureComparison[] {
  const row = (name: string, key: keyof TrueFigures): FigureComparison => ({
    name,
    shown: shown[key],
    truth: truth[key],
    error: truth[key] === 0 ? (shown[key] === 0 ? 0 : Infinity) : (shown[key] - truth[key]) / truth[key],
  });
  return [
    row('unique likely-human openers', 'humanOpeners'),
    row('human clickers', 'humanClickers'),
    row('attributed visitors', 'attributedVisitors'),
  ];
}

export const TARGETS = { accuracy: 0.97, figureError: 0.05 };

export function meetsTargets(score: TruthScore, figures: FigureComparison[]): boolean {
  return score.accuracy >= TARGETS.accuracy && figures.every((f) => Math.abs(f.error) <= TARGETS.figureError);
}

/** The report the tool prints. */
export function formatReport(score: TruthScore, figures: FigureComparison[], conditions: string): string {
  const lines: string[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  lines.push(`Truth replay — ${conditions}`);
  lines.push('');
  lines.push(
    `Class accuracy over recorded hits: ${score.correct} of ${score.recorded} = ${pct(score.accuracy)} (target ≥ ${pct(TARGETS.accuracy)})`,
  );
  for (const [title, table] of [
    ['Opens', score.opens],
    ['Clicks', score.clicks],
  ] as const) {
    lines.push('');
    lines.push(`${title} (rows: expected, columns: got)`);
    const columns = [...table.labels, NOT_RECORDED];
    const width = Math.max(12, ...columns.map((c) => c.length + 2));
    lines.push(''.padEnd(12) + columns.map((c) => c.padStart(width)).join(''));
    for (const expected of table.labels)
      lines.push(
        expected.padEnd(12) + columns.map((g) => String(table.counts[expected]![g] ?? 0).padStart(width)).join(''),
      );
  }
  lines.push('');
  lines.push(score.errors.length === 0 ? 'No errors.' : `Errors (${score.errors.length}):`);
  for (const e of score.errors)
    lines.push(`  ${e.case} — event ${e.event}, ${e.what}: expected ${e.expected}, got ${e.got} (${e.reason})`);
  lines.push('');
  lines.push('Figures as the admin shows them, against the truth from the labels:');
  lines.push(`  ${'figure'.padEnd(28)}${'shown'.padStart(8)}${'true'.padStart(8)}${'error'.padStart(10)}`);
  for (const f of figures)
    lines.push(
      `  ${f.name.padEnd(28)}${String(f.shown).padStart(8)}${String(f.truth).padStart(8)}${(Number.isFinite(f.error) ? `${f.error >= 0 ? '+' : ''}${(f.error * 100).toFixed(1)} %` : '∞').padStart(10)}`,
    );
  lines.push(`  (target: each within ±${pct(TARGETS.figureError)})`);
  return lines.join('\n');
}
