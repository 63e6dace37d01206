/** The PostgreSQL NOTIFY channel a commit that appended events or queued outbox rows signals on. */
export const notifyChannel = 'bv_event_store';
