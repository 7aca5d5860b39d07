import { useRef, useState } from 'react';
import * as Dialog from '@radix-ui/react-dialog';
import { useMutation } from '@tanstack/react-query';
import * as ipc from '../ipc';
import type { Queued } from '../bindings';
import { queuedState } from '../lib/queued';
import { useIsPhone } from '../state/media';
import { useStopSending } from '../state/stops';
import { useAppState } from '../state/queries';
import { toast } from '../state/toasts';
import { button, input } from '../lib/ui';
import { cx } from '../lib/cx';
import { HoldButton } from './HoldButton';
import { StopProgress } from './StopProgress';
import { StopIcon, XIcon } from './Icons';

export type StopTarget = { scope: 'tenant' } | { scope: 'project'; projectId: string; projectName: string };

export const STOP_ALL_PHRASE = 'STOP ALL';
/** The longest reason the server takes (`POST …/stop`). */
const REASON_MAX_CHARS = 1000;

/** What must be typed to confirm: the project's name as it shows, or STOP ALL for the tenant
 *  (and for a project whose name shows as nothing: an empty box must never confirm). */
export function confirmPhrase(target: StopTarget): string {
  if (target.scope === 'tenant') return STOP_ALL_PHRASE;
  return visiblePhrase(target.projectName) || STOP_ALL_PHRASE;
}

/** A phrase as a person can see and type it: composed (NFC), without invisible format
 *  characters (zero-width, direction marks), every run of spaces one space. A name that held
 *  two spaces or a direction mark could otherwise never be typed to match. */
export function visiblePhrase(phrase: string): string {
  return phrase.normalize('NFC').replace(/\p{Cf}/gu, '').replace(/\s+/gu, ' ').trim();
}

/** A phrase as it is compared: its visible form, compatibility-folded (NFKC: full-width
 *  letters, ligatures), every dash (hyphen, en and em dash, minus) one hyphen, curly and straight
 *  quotes one each, and any case. A keyboard types "Spring Sale 2027 - Paid Social" for a name
 *  with an em dash; the guard is knowing which project, not typing its punctuation. */
function comparable(phrase: string): string {
  return visiblePhrase(phrase)
    .normalize('NFKC')
    .replace(/[\p{Pd}\u2212]/gu, '-')
    .replace(/[\u2018\u2019\u201a\u201b\u2032]/gu, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/gu, '"')
    .toLowerCase();
}

export function phraseMatches(typed: string, target: StopTarget): boolean {
  return comparable(typed) === comparable(confirmPhrase(target));
}

/** The emergency stop: guarded confirmation (type the name on desktop, press and hold on a
 *  phone), then the live progress of acknowledgements. */
export function StopFlow({
  target,
  open,
  onOpenChange,
}: {
  target: StopTarget;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const phone = useIsPhone();
  const [typed, setTyped] = useState('');
  const [reason, setReason] = useState('');
  const [sent, setSent] = useState<{ queued: Queued; before: string | null } | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const projectId = target.scope === 'project' ? target.projectId : null;
  const sending = useStopSending(projectId ?? undefined);

  const stop = useMutation({
    mutationFn: async () => {
      // The finished stop seen before this one, so the progress view waits for the new one.
      // One still pending is the stop this one joins (the server answers with it): shown.
      const before = await ipc.latestStop(projectId).catch(() => null);
      const why = reason.trim() || 'Emergency stop from Spartex Control';
      const queued = projectId ? await ipc.stopProject(projectId, why) : await ipc.stopAll(why);
      return { queued, before: before && before.status !== 'pending' ? before.id : null };
    },
    onMutate: () => setRefusal(null),
    onSuccess: (result) => {
      const became = queuedState(result.queued);
      if (became.state === 'refused') {
        // Nothing was stopped: say why, and leave the form to correct and send again.
        fired.current = false;
        setRefusal(became.message);
      } else {
        setSent(result);
      }
    },
    onError: (error) => toast({ tone: 'error', title: 'The stop was not queued', message: error.message }),
  });

  // Stop all stops the organisation shown, not the others signed in: named, since a phone's
  // sheet covers the header that says which it is.
  const organisation = useAppState().data?.active?.tenant.name;
  const everything = organisation ? `every agent in every project of ${organisation}` : 'every agent in every project';
  const what = target.scope === 'tenant' ? everything : `every agent in ${target.projectName}`;
  const title =
    target.scope === 'tenant' ? `Stop all projects${organisation ? ` of ${organisation}` : ''}` : `Stop ${target.projectName}`;
  const matches = phraseMatches(typed, target);
  const mismatch = visiblePhrase(typed).length > 0 && !matches;
  // A double click (or a click racing the hold) must not stop twice: guard synchronously.
  const fired = useRef(false);
  const fire = () => {
    if (fired.current) return;
    fired.current = true;
    stop.mutate(undefined, { onError: () => (fired.current = false) });
  };

  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
        <Dialog.Content
          data-testid="stop-dialog"
          className={cx(
            'fixed z-50 border border-line bg-surface text-fg shadow-2xl outline-none',
            phone
              ? 'pb-safe inset-x-0 bottom-0 max-h-[90vh] overflow-y-auto rounded-t-2xl p-4'
              : 'top-[12vh] left-1/2 max-h-[76vh] w-[min(32rem,calc(100vw-2rem))] -translate-x-1/2 overflow-y-auto rounded-xl p-5',
          )}
        >
          <div className="flex items-start justify-between gap-3">
            <Dialog.Title className="flex items-center gap-2 text-base font-semibold text-red">
              <StopIcon size={18} /> {sent ? 'Emergency stop' : title}
            </Dialog.Title>
            <Dialog.Close aria-label="Close" className="-m-1 flex h-11 w-11 items-center justify-center rounded-md text-muted hover:bg-raised sm:h-8 sm:w-8">
              <XIcon />
            </Dialog.Close>
          </div>

          {sent ? (
            <div className="mt-3 space-y-3">
              {!sent.queued.delivered && sent.queued.waiting_because && (
                <p className="text-sm text-muted">Why it waits: {sent.queued.waiting_because}</p>
              )}
              <StopProgress projectId={projectId} sending={sending} ignoreId={sent.before} />
              <div className="flex justify-end">
                <Dialog.Close className={button('secondary')}>Close</Dialog.Close>
              </div>
            </div>
          ) : (
            <form
              className="mt-3 space-y-4"
              onSubmit={(e) => {
                e.preventDefault();
                if (!phone && matches) fire();
              }}
            >
              <Dialog.Description className="text-sm text-fg">
                This stops {what} right now. Agents finish nothing they started; a manager or owner
                has to resume {target.scope === 'tenant' ? 'each project' : 'the project'} afterwards.
              </Dialog.Description>
              {!phone && (
                <label className="block text-sm">
                  <span className="text-muted">
                    Type <strong className="font-mono whitespace-pre-wrap text-fg select-all">{confirmPhrase(target)}</strong> to confirm
                  </span>
                  <input
                    data-testid="stop-confirm-input"
                    className={cx(input, 'mt-1 w-full font-mono')}
                    value={typed}
                    onChange={(e) => setTyped(e.target.value)}
                    autoFocus
                    autoComplete="off"
                    spellCheck={false}
                    aria-invalid={mismatch}
                    aria-describedby={mismatch ? 'stop-confirm-hint' : undefined}
                  />
                  {mismatch && (
                    <span id="stop-confirm-hint" data-testid="stop-confirm-hint" className="mt-1 block text-xs text-muted">
                      {target.scope === 'tenant' ? `Doesn’t match ${STOP_ALL_PHRASE} yet` : 'Doesn’t match the name yet'}
                    </span>
                  )}
                </label>
              )}
              <label className="block text-sm">
                <span className="text-muted">Reason (optional, the agents and your team see it)</span>
                <textarea
                  data-testid="stop-reason"
                  className={cx(input, 'mt-1 min-h-16 w-full resize-y')}
                  value={reason}
                  maxLength={REASON_MAX_CHARS}
                  onChange={(e) => setReason(e.target.value)}
                  placeholder="e.g. Wrong audience list on the newsletter"
                  rows={2}
                />
              </label>
              {refusal && (
                <p role="alert" data-testid="stop-refused" className="rounded-md bg-red-soft px-3 py-2 text-sm font-medium text-fg">
                  The server refused the stop; nothing was stopped. {refusal}
                </p>
              )}
              {phone ? (
                <HoldButton testId="stop-hold-button" onComplete={fire} disabled={stop.isPending} label={`Press and hold for 1.5 seconds to stop ${what}`}>
                  {stop.isPending ? 'Stopping…' : 'Press and hold to stop'}
                </HoldButton>
              ) : (
                <div className="flex justify-end gap-2">
                  <Dialog.Close type="button" className={button('secondary')}>
                    Cancel
                  </Dialog.Close>
                  <button
                    type="submit"
                    data-testid="stop-confirm-button"
                    disabled={!matches || stop.isPending}
                    className={button('danger')}
                  >
                    <StopIcon /> {stop.isPending ? 'Stopping…' : target.scope === 'tenant' ? 'Stop everything' : 'Stop project'}
                  </button>
                </div>
              )}
            </form>
          )}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
