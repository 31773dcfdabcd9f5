/** `/v1/stats/db`: counts of messages and callbacks in the database, in On-Prem's metric shape. */
import type { Stores } from '../../ports/stores.js';
import { gauge, type OnPremMetric, type OnPremMetrics } from '../webapp/api-metrics.js';

export async function dbStats(stores: Stores): Promise<OnPremMetrics> {
  const { messages, callbacks } = stores;
  const [byStatus, callbackCounts] = await Promise.all([messages.countByStatus(), callbacks.counts()]);
  const dbMessages: OnPremMetric = {
    type: 'gauge',
    help: 'Current number of messages in DB',
    data: Object.entries(byStatus).map(([status, value]) => ({ labels: { status }, value })),
  };
  return {
    db_message_receipts: gauge('Current number of message receipts in DB', byStatus.delivered + byStatus.read),
    db_messages: dbMessages,
    db_pending_callbacks: gauge('Current number of pending callbacks in DB', callbackCounts.pending),
    db_pending_messages: gauge('Current number of pending messages in DB', byStatus.accepted),
    db_dead_callbacks: gauge('Callbacks given up on (kept for inspection)', callbackCounts.dead),
  };
}
