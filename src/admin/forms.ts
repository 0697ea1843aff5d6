import { isInputError, type SafeResult } from 'astro:actions';

export interface FormState<T> {
  /** Set when the action succeeded. */
  data: T | undefined;
  /** One message for the whole form (wrong password, throttled, duplicate email…). */
  error: string | undefined;
  /** Messages by field name, from input validation. */
  fields: Record<string, string | undefined>;
}

/** What a page shows after a form action ran on it (Astro.getActionResult). */
// Any action's result: its input type is Astro's `ErrorInferenceObject`, which astro:actions does not export.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function formState<T>(result: SafeResult<any, T> | undefined): FormState<T> {
  if (!result) return { data: undefined, error: undefined, fields: {} };
  if (!result.error) return { data: result.data, error: undefined, fields: {} };
  if (isInputError(result.error)) {
    const fields: Record<string, string | undefined> = {};
    for (const [name, messages] of Object.entries(result.error.fields as Record<string, string[] | undefined>))
      fields[name] = messages?.[0];
    return { data: undefined, error: 'Please correct the fields marked below.', fields };
  }
  return { data: undefined, error: result.error.message, fields: {} };
}

/**
 * The values a form was posted with, to fill it in again after an error. Password fields
 * are never sent back. (Actions read a clone of the request, so the body is still here.)
 */
export async function postedValues(request: Request): Promise<Record<string, string>> {
  if (request.method !== 'POST') return {};
  try {
    const form = await request.formData();
    const values: Record<string, string> = {};
    for (const [name, value] of form)
      if (typeof value === 'string' && !/password/i.test(name)) values[name] = value.slice(0, 2000);
    return values;
  } catch {
    return {};
  }
}
