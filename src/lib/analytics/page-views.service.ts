import type { VisitorHasher } from './visitor-hash.service.ts';
import { describePageView, type PageRequest } from './page-view.ts';
import type { NewPageView } from './page-views.repository.ts';

export interface PageViewSink {
  write(kind: 'page_view', row: NewPageView): Promise<void>;
}

/**
 * Counts one page view: resolves once the row is committed, so a page is answered only
 * after its view is durable.
 */
export async function recordPageView(
  deps: { writer: PageViewSink; visitors: VisitorHasher },
  request: PageRequest & { ip: string },
  now = Date.now(),
): Promise<void> {
  const view = describePageView(request, now);
  const visitor_hash = await deps.visitors.hash(request.ip, request.userAgent ?? '', now);
  await deps.writer.write('page_view', { ...view, visitor_hash });
}
