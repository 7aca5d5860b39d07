import { useStopSending } from '../state/stops';
import { useStopsElsewhere } from '../state/queries';
import { AlertIcon } from './Icons';

/** Loud, across the whole app, while an emergency stop sits in an outbox: this account's, or
 *  that of an organisation no longer shown (its delivery goes on behind the one shown). */
export function StopBanner() {
  const sending = useStopSending();
  const { data: elsewhere } = useStopsElsewhere();
  const organisations = [...new Set((elsewhere ?? []).map((stop) => stop.account.tenant.name))];
  if (!sending && organisations.length === 0) return null;
  const where = organisations.length > 0 ? ` in ${organisations.join(', ')}` : '';
  return (
    <div
      data-testid="stop-not-delivered-banner"
      role="alert"
      className="flex items-center gap-2 bg-danger px-4 py-2 text-sm font-semibold text-white"
    >
      <AlertIcon size={16} className="shrink-0" />
      <span>
        {sending && organisations.length > 0
          ? `Emergency stops not yet delivered, here and${where} — they will be sent the moment the connection returns`
          : `Emergency stop${where} not yet delivered — it will be sent the moment the connection returns`}
      </span>
    </div>
  );
}
