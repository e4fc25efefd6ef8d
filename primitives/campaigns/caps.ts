/**
 * Contact frequency caps over rolling windows. A cap of scope `customer` counts a customer's contacts through every
 * channel of every campaign; one of scope `channel` counts those through its channel. A contact at time `at` falls in
 * a cap's window when at > runAt - days * 24 h. The customer may be contacted when every customer cap has fewer
 * than `max` contacts in its window; the channel is then the first of the campaign's channels whose own caps do too.
 * Only contacts of finished runs are counted (the store's concern), so a run never counts itself.
 */
import { type CapOutcome, REASON } from './rules.js';
import type { ContactCap } from './spec.js';

export const DAY_MS = 86_400_000;

/** One past contact of a customer. */
export interface ContactEvent {
  readonly channel: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
}

export interface CapEvaluator {
  /** The earliest contact time any cap counts: older contacts need not be read. */
  readonly since: number;
  readonly hasCaps: boolean;
  evaluate(events: readonly ContactEvent[] | undefined): CapOutcome;
}

const FIRST_CHANNEL: CapOutcome = { channel: 0, reason: 0, cap: -1 };

export function compileCaps(
  caps: readonly ContactCap[],
  channels: readonly string[],
  runAt: number,
): CapEvaluator {
  const windows = caps.map((c) => ({ ...c, since: runAt - c.days * DAY_MS }));
  const customerCaps = windows.map((w, i) => ({ ...w, index: i })).filter((w) => w.scope === 'customer');
  const channelCaps = channels.map((ch) =>
    windows.flatMap((w) =>
      w.scope === 'channel' && w.channel === ch ? [{ max: w.max, since: w.since }] : [],
    ),
  );
  const outcomes = channels.map((_, i): CapOutcome => ({ channel: i, reason: 0, cap: -1 }));
  const since = windows.length ? Math.min(...windows.map((w) => w.since)) : runAt;
  return {
    since,
    hasCaps: windows.length > 0,
    evaluate(events) {
      if (!events || events.length === 0) {
        // No contact in any window: every cap with max >= 1 allows the first channel; a cap of max 0 never does.
        if (!windows.some((w) => w.max === 0)) return FIRST_CHANNEL;
      }
      const list = events ?? [];
      for (const cap of customerCaps) {
        let n = 0;
        for (const e of list) if (e.at > cap.since) n++;
        if (n >= cap.max) return { channel: -1, reason: REASON.CAP_CUSTOMER, cap: cap.index };
      }
      for (let c = 0; c < channels.length; c++) {
        let allowed = true;
        for (const cap of channelCaps[c]!) {
          let n = 0;
          for (const e of list) if (e.channel === channels[c] && e.at > cap.since) n++;
          if (n >= cap.max) {
            allowed = false;
            break;
          }
        }
        if (allowed) return outcomes[c]!;
      }
      return { channel: -1, reason: REASON.CAP_CHANNELS, cap: -1 };
    },
  };
}
