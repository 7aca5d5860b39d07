import { useStopSending } from '../state/stops';
import { AlertIcon } from './Icons';

/** Loud, across the whole app, while an emergency stop sits in the outbox. */
export function StopBanner() {
  const sending = useStopSending();
  if (!sending) return null;
  return (
    <div
      data-testid="stop-not-delivered-banner"
      role="alert"
      className="flex items-center gap-2 bg-danger px-4 py-2 text-sm font-semibold text-white"
    >
      <AlertIcon size={16} className="shrink-0" />
      <span>Emergency stop not yet delivered — it will be sent the moment the connection returns</span>
    </div>
  );
}
