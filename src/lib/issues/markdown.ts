import { defineHastPlugin, defineMdastPlugin, markdownToHtml } from 'satteri';
import { classifyHref } from './links.ts';

/**
 * An issue's Markdown body as HTML, with Sätteri (the Markdown engine Astro itself ships).
 * Raw HTML in the Markdown is shown as text, never interpreted: the body goes into every
 * subscriber's inbox and onto the public archive. Braces are written as entities, so the
 * body can never form a {{placeholder}} of the email template.
 *
 *   email:   inline styles on every element (mail clients drop <style> blocks), relative
 *            links and images made absolute on the site URL
 *   archive: plain markup for the site's own stylesheet; links that could not go out
 *            (javascript:, data:, …) lose their href
 */
export type MarkdownVariant = 'email' | 'archive';

const BLOCK_PARENTS = new Set(['root', 'blockquote', 'listItem', 'footnoteDefinition']);

const rawHtmlAsText = defineMdastPlugin({
  name: 'footfall-raw-html-as-text',
  html(node, ctx) {
    const text = { type: 'text' as const, value: node.value };
    const parent = ctx.parent(node);
    ctx.replaceNode(node, parent && BLOCK_PARENTS.has(parent.type) ? { type: 'paragraph', children: [text] } : text);
  },
});

const INK = '#1a2230';
const NAVY = '#1d3461';
const MUTED = '#4f5a6b';
const RULE = '#e4dfd5';

/** Inline styles per element for the email variant (the mj-text around it sets font, size and colour). */
const EMAIL_STYLES: Record<string, string> = {
  h1: `margin:0 0 16px 0;font-size:28px;line-height:36px;font-weight:700;color:${NAVY};`,
  h2: `margin:28px 0 12px 0;font-size:22px;line-height:30px;font-weight:700;color:${NAVY};`,
  h3: `margin:24px 0 10px 0;font-size:19px;line-height:26px;font-weight:700;color:${NAVY};`,
  h4: `margin:20px 0 8px 0;font-size:17px;line-height:24px;font-weight:700;color:${NAVY};`,
  h5: `margin:20px 0 8px 0;font-size:16px;line-height:24px;font-weight:700;color:${NAVY};`,
  h6: `margin:20px 0 8px 0;font-size:16px;line-height:24px;font-weight:700;color:${MUTED};`,
  p: 'margin:0 0 16px 0;',
  ul: 'margin:0 0 16px 0;padding:0 0 0 24px;',
  ol: 'margin:0 0 16px 0;padding:0 0 0 24px;',
  li: 'margin:0 0 6px 0;',
  a: `color:${NAVY};text-decoration:underline;word-break:break-word;`,
  img: 'display:block;max-width:100%;height:auto;border:0;border-radius:6px;',
  blockquote: `margin:0 0 16px 0;padding:4px 0 4px 16px;border-left:4px solid #f5b700;color:${MUTED};`,
  pre: `margin:0 0 16px 0;padding:12px 14px;background-color:#f4f1ea;border-radius:6px;white-space:pre-wrap;word-break:break-word;font-size:14px;line-height:21px;color:${INK};`,
  code: "font-family:Menlo,Consolas,'Courier New',monospace;font-size:14px;",
  table: 'width:100%;border-collapse:collapse;margin:0 0 16px 0;',
  th: `border:1px solid ${RULE};padding:6px 8px;text-align:left;vertical-align:top;font-weight:700;`,
  td: `border:1px solid ${RULE};padding:6px 8px;text-align:left;vertical-align:top;`,
  hr: `border:0;border-top:1px solid ${RULE};margin:24px 0;`,
};

function absolute(value: unknown, siteUrl: string): unknown {
  if (typeof value !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(value) || value.startsWith('#') || value.trim() === '')
    return value;
  try {
    return new URL(value, siteUrl + '/').href;
  } catch {
    return value;
  }
}

function emailPlugin(siteUrl: string) {
  return defineHastPlugin({
    name: 'footfall-email-markup',
    element: {
      filter: Object.keys(EMAIL_STYLES),
      visit(node, ctx) {
        ctx.setProperty(node, 'style', EMAIL_STYLES[node.tagName]);
        if (node.tagName === 'a') ctx.setProperty(node, 'href', absolute(node.properties.href, siteUrl));
        if (node.tagName === 'img') ctx.setProperty(node, 'src', absolute(node.properties.src, siteUrl));
      },
    },
  });
}

function archivePlugin(siteUrl: string) {
  return defineHastPlugin({
    name: 'footfall-archive-markup',
    element: {
      filter: ['a', 'img'],
      visit(node, ctx) {
        const attribute = node.tagName === 'a' ? 'href' : 'src';
        const value = node.properties[attribute];
        if (typeof value === 'string' && !classifyHref(value, siteUrl).ok) ctx.setProperty(node, attribute, undefined);
      },
    },
  });
}

export function escapeBraces(html: string): string {
  return html.replace(/[{}]/g, (c) => (c === '{' ? '&#123;' : '&#125;'));
}

export function renderMarkdown(markdown: string, variant: MarkdownVariant, siteUrl: string): string {
  const { html } = markdownToHtml(markdown, {
    mdastPlugins: [rawHtmlAsText],
    hastPlugins: [variant === 'email' ? emailPlugin(siteUrl) : archivePlugin(siteUrl)],
    features: { frontmatter: false, gfm: { footnotes: false } },
  });
  return escapeBraces(html);
}
