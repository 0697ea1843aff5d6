/** What the issue form was posted with, to fill it in again after a refusal (featured articles are a list). */
export async function issueFormValues(request: Request): Promise<{
  subject?: string;
  preheader?: string;
  slug?: string;
  body_markdown?: string;
  featured_articles?: string[];
  tracked_phone?: string;
}> {
  if (request.method !== 'POST') return {};
  try {
    const form = await request.formData();
    const text = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value.slice(0, 200_000) : undefined;
    };
    return {
      subject: text('subject'),
      preheader: text('preheader'),
      slug: text('slug'),
      body_markdown: text('body_markdown'),
      featured_articles: form.getAll('featured_articles').filter((v): v is string => typeof v === 'string'),
      tracked_phone: text('tracked_phone'),
    };
  } catch {
    return {};
  }
}
