import { DEFAULT_HOLDOUT_SHARE, VARIANT_KEYS } from '../lib/experiments/experiment.ts';

/**
 * The send page's experiment fields (plain strings, as posted) and their translation into the
 * API's `experiment` object, which the sending service checks (so the page and the API refuse
 * the same things with the same sentences).
 */
export interface ExperimentFormValues {
  /** 'yes' when an A/B test is chosen. */
  ab: string;
  subjects: string[];
  preheaders: string[];
  bodies: string[];
  /** Percent of the audience, as typed. */
  testShare: string;
  /** Hours, as typed. */
  waitHours: string;
  measure: string;
  /** 'yes' when a holdout is chosen. */
  holdout: string;
  /** Percent, as typed. */
  holdoutShare: string;
}

export const EXPERIMENT_FORM_DEFAULTS: ExperimentFormValues = {
  ab: '',
  subjects: ['', '', '', ''],
  preheaders: ['', '', '', ''],
  bodies: ['', '', '', ''],
  testShare: '20',
  waitHours: '4',
  measure: 'human_clickers',
  holdout: '',
  holdoutShare: String(DEFAULT_HOLDOUT_SHARE * 100),
};

/** The form's field names: `subjectA`, `preheaderA`, `bodyA`, … */
export const variantField = (kind: 'subject' | 'preheader' | 'body', index: number) => `${kind}${VARIANT_KEYS[index]}`;

/** Reads the experiment fields from a posted form (or the values it was reviewed with). */
export function experimentFormValues(get: (name: string) => string | undefined): ExperimentFormValues {
  const text = (name: string, max = 400) => (get(name) ?? '').slice(0, max);
  return {
    ab: text('ab') === 'yes' ? 'yes' : '',
    subjects: VARIANT_KEYS.map((_, i) => text(variantField('subject', i), 400)),
    preheaders: VARIANT_KEYS.map((_, i) => text(variantField('preheader', i), 400)),
    bodies: VARIANT_KEYS.map((_, i) => text(variantField('body', i), 100_000)),
    testShare: text('testShare', 20) || EXPERIMENT_FORM_DEFAULTS.testShare,
    waitHours: text('waitHours', 20) || EXPERIMENT_FORM_DEFAULTS.waitHours,
    measure: text('measure', 40) === 'human_openers' ? 'human_openers' : 'human_clickers',
    holdout: text('holdout') === 'yes' ? 'yes' : '',
    holdoutShare: text('holdoutShare', 20) || EXPERIMENT_FORM_DEFAULTS.holdoutShare,
  };
}

const number = (typed: string) => (/^\s*\d+([.,]\d+)?\s*$/.test(typed) ? Number(typed.replace(',', '.')) : NaN);

/**
 * The API's `experiment` from the form, or undefined for none. The variants are those up to the
 * last one with anything typed (an empty one before it is refused for its empty subject).
 */
export function experimentFromForm(values: ExperimentFormValues): Record<string, unknown> | undefined {
  const ab = values.ab === 'yes';
  const holdout = values.holdout === 'yes';
  if (!ab && !holdout) return undefined;
  const experiment: Record<string, unknown> = {};
  if (ab) {
    let last = -1;
    VARIANT_KEYS.forEach((_, i) => {
      if (values.subjects[i]?.trim() || values.preheaders[i]?.trim() || values.bodies[i]?.trim()) last = i;
    });
    experiment.variants = VARIANT_KEYS.slice(0, last + 1).map((_, i) => ({
      subject: values.subjects[i] ?? '',
      preheader: values.preheaders[i] ?? '',
      body_markdown: values.bodies[i]?.trim() ? values.bodies[i] : null,
    }));
    experiment.test_share = number(values.testShare) / 100;
    const hours = number(values.waitHours);
    experiment.wait_ms = Number.isFinite(hours) ? Math.round(hours * 3_600_000) : NaN;
    experiment.measure = values.measure;
  }
  if (holdout) experiment.holdout_share = number(values.holdoutShare) / 100;
  return experiment;
}

/** The same values as hidden inputs for the confirmation step: name → value. */
export function experimentHiddenFields(values: ExperimentFormValues): [string, string][] {
  const fields: [string, string][] = [];
  if (values.ab === 'yes') {
    fields.push(['ab', 'yes']);
    VARIANT_KEYS.forEach((_, i) => {
      fields.push([variantField('subject', i), values.subjects[i] ?? '']);
      fields.push([variantField('preheader', i), values.preheaders[i] ?? '']);
      fields.push([variantField('body', i), values.bodies[i] ?? '']);
    });
    fields.push(['testShare', values.testShare], ['waitHours', values.waitHours], ['measure', values.measure]);
  }
  if (values.holdout === 'yes') fields.push(['holdout', 'yes'], ['holdoutShare', values.holdoutShare]);
  return fields;
}
