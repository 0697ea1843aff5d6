/**
 * `{{name}}` placeholders in already-rendered HTML. A template is split once into static
 * parts and placeholder names, so filling it per message is a join, not a search.
 */
export interface PlaceholderTemplate {
  readonly parts: readonly string[];
  readonly names: readonly string[];
}

export type PlaceholderValues = Record<string, string | number | undefined | null>;

export class PlaceholderError extends Error {
  override name = 'PlaceholderError';
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

export function compilePlaceholders(source: string, label: string): PlaceholderTemplate {
  const parts: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    parts.push(source.slice(last, match.index));
    names.push(match[1]!);
    last = match.index + match[0].length;
  }
  parts.push(source.slice(last));
  // A `{{` left over is a placeholder that did not parse ({{ site name }}, {{url}): refuse it now.
  const malformed = parts.find((part) => part.includes('{{'));
  if (malformed !== undefined) {
    const at = malformed.indexOf('{{');
    throw new PlaceholderError(
      `${label}: malformed placeholder near ${JSON.stringify(malformed.slice(Math.max(0, at - 20), at + 40))}`,
    );
  }
  return { parts, names };
}

/** The distinct placeholder names, in order of first use. */
export function listPlaceholders(template: PlaceholderTemplate): string[] {
  return [...new Set(template.names)];
}

/** HTML-escapes a value for text or a quoted attribute; braces too, so a value can never form a placeholder. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'{}]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Fills every placeholder with its HTML-escaped value. Throws naming each placeholder left
 * unresolved, and each `…Url` placeholder whose value is not an absolute http(s) URL (so a
 * `javascript:` link can never reach an email).
 */
export function fillPlaceholders(template: PlaceholderTemplate, values: PlaceholderValues, label: string): string {
  const missing = listPlaceholders(template).filter((name) => values[name] === undefined || values[name] === null);
  if (missing.length > 0) {
    throw new PlaceholderError(
      `${label}: unresolved placeholder${missing.length > 1 ? 's' : ''} ${missing.map((n) => `{{${n}}}`).join(', ')}`,
    );
  }
  const escaped = new Map<string, string>();
  for (const name of listPlaceholders(template)) {
    const value = String(values[name]);
    if (name.endsWith('Url') && !/^https?:\/\/[^\s]+$/i.test(value)) {
      throw new PlaceholderError(
        `${label}: {{${name}}} must be an absolute http(s) URL (got ${JSON.stringify(value.slice(0, 80))})`,
      );
    }
    escaped.set(name, escapeHtml(value));
  }
  let out = template.parts[0]!;
  for (let i = 0; i < template.names.length; i++) out += escaped.get(template.names[i]!)! + template.parts[i + 1]!;
  return out;
}
