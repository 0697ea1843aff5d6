// Accounts actions (login, setup, users, settings) are added by the accounts work.
export const accounts = {};
