// Subscriber actions (signup, preferences, unsubscribe) are added by the subscribers work.
export const subscribers = {};
