/** The business behind the site: shown in the header, footer, home page and feeds. */
export const store = {
  name: 'Frobozz Electric',
  tagline: 'Widgets, spare parts and honest advice in Port Foozle',
  description:
    'Frobozz Electric is a small widget store in Port Foozle. Guides, care tips and news about widgets from the people who sell and repair them.',
  street: '12 Flathead Row',
  town: 'Port Foozle',
  phone: '(555) 0142',
  phoneHref: 'tel:5550142',
  /** As announced in "New opening hours…" (from 1 October 2026). */
  hours: [
    { days: 'Monday', time: 'Closed' },
    { days: 'Tuesday – Wednesday', time: '9:30 – 17:30' },
    { days: 'Thursday', time: '9:30 – 20:00' },
    { days: 'Friday', time: '9:30 – 17:30' },
    { days: 'Saturday', time: '9:00 – 17:00' },
    { days: 'Sunday', time: '11:00 – 15:00' },
  ],
} as const;
