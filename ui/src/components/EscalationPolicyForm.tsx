// Settings → Escalation, for managers: which risks climb the ladder, who is told at each level
// and after how long, and how many times the ladder runs again.
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import * as ipc from '../ipc';
import type { EscalationLevel, EscalationPolicy, Risk } from '../bindings';
import { keys } from '../state/keys';
import { toast } from '../state/toasts';
import { button, input } from '../lib/ui';
import { cx } from '../lib/cx';
import { ErrorState, LoadingRows } from './States';
import { PlusIcon, XIcon } from './Icons';

const RISKS: Risk[] = ['low', 'medium', 'high', 'critical'];
const TARGETS: [string, string][] = [
  ['oncall_now', 'whoever is on call'],
  ['role:oncall', 'everyone on the on-call role'],
  ['role:manager', 'the managers'],
  ['role:owner', 'the owners'],
];

function targetWord(target: string): string {
  return TARGETS.find(([t]) => t === target)?.[1] ?? target;
}

export function EscalationPolicyForm({ accountId }: { accountId: string }) {
  const { data, error, isPending } = useQuery({ queryKey: keys.escalationPolicy(accountId), queryFn: ipc.escalationPolicy });
  if (isPending) return <LoadingRows rows={2} />;
  if (error) return <ErrorState error={error} title="Could not read the escalation policy (it is on the server)" />;
  return <Editor key={JSON.stringify(data)} accountId={accountId} saved={data} />;
}

function Editor({ accountId, saved }: { accountId: string; saved: EscalationPolicy }) {
  const client = useQueryClient();
  const [policy, setPolicy] = useState<EscalationPolicy>(saved);
  const save = useMutation({
    mutationFn: () => ipc.putEscalationPolicy(policy),
    onSuccess: (next) => {
      client.setQueryData(keys.escalationPolicy(accountId), next);
      toast({ tone: 'success', message: 'The escalation policy is saved.' });
    },
    onError: (e) => {
      // Changed by someone else meanwhile: shown as it is now, to make the change again on it.
      if (ipc.isCommandError(e) && e.code === 'conflict') void client.invalidateQueries({ queryKey: keys.escalationPolicy(accountId) });
      toast({ tone: 'error', title: 'The escalation policy was not saved', message: e.message });
    },
  });
  const setLevel = (index: number, patch: Partial<EscalationLevel>) =>
    setPolicy((p) => ({ ...p, levels: p.levels.map((l, i) => (i === index ? { ...l, ...patch } : l)) }));
  const toggleRisk = (risk: Risk) =>
    setPolicy((p) => ({
      ...p,
      applies_to: p.applies_to.includes(risk) ? p.applies_to.filter((r) => r !== risk) : RISKS.filter((r) => r === risk || p.applies_to.includes(r)),
    }));
  const last = policy.levels.at(-1);
  const changed = JSON.stringify(policy) !== JSON.stringify(saved);
  // A newer server's risk in the policy: saving from here would send a value this version
  // cannot name, so the policy is shown but edited from an up-to-date app.
  const newer = saved.applies_to.includes('unknown');

  return (
    <form
      data-testid="escalation-policy"
      className="space-y-4 px-4 py-3"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <fieldset>
        <legend className="text-sm font-medium">Requests that climb the ladder</legend>
        <p className="text-xs text-muted">Others notify everyone who may act, as before.</p>
        <div className="mt-2 flex flex-wrap gap-3">
          {RISKS.map((risk) => (
            <label key={risk} className="flex min-h-11 items-center gap-2 text-sm sm:min-h-8">
              <input type="checkbox" data-testid={`policy-risk-${risk}`} checked={policy.applies_to.includes(risk)} onChange={() => toggleRisk(risk)} />
              {risk}
            </label>
          ))}
        </div>
      </fieldset>
      <ol className="space-y-2">
        {policy.levels.map((level, i) => (
          <li key={i} data-testid="policy-level" className="flex flex-wrap items-center gap-2 text-sm">
            <span className="w-16 shrink-0 font-medium">Level {i + 1}</span>
            {i === 0 ? (
              <span className="text-muted">at once, tell</span>
            ) : (
              <>
                <span className="text-muted">after</span>
                <input
                  type="number"
                  min={0}
                  aria-label={`Level ${i + 1}: minutes after the request`}
                  className={cx(input, 'w-20')}
                  value={Math.round(level.after_s / 60)}
                  onChange={(e) => setLevel(i, { after_s: Math.max(0, Number(e.target.value)) * 60 })}
                />
                <span className="text-muted">min, tell</span>
              </>
            )}
            <select
              aria-label={`Level ${i + 1}: who is told`}
              className={cx(input, 'w-56')}
              value={level.targets[0] ?? 'oncall_now'}
              onChange={(e) => setLevel(i, { targets: [e.target.value, ...level.targets.slice(1)] })}
            >
              {TARGETS.map(([value, word]) => (
                <option key={value} value={value}>
                  {word}
                </option>
              ))}
              {level.targets[0] && !TARGETS.some(([t]) => t === level.targets[0]) && (
                <option value={level.targets[0]}>{targetWord(level.targets[0])}</option>
              )}
            </select>
            {i > 0 && (
              <button
                type="button"
                aria-label={`Remove level ${i + 1}`}
                className={button('ghost')}
                onClick={() => setPolicy((p) => ({ ...p, levels: p.levels.filter((_, j) => j !== i) }))}
              >
                <XIcon />
              </button>
            )}
          </li>
        ))}
      </ol>
      <div className="flex flex-wrap items-center gap-3">
        <button
          type="button"
          className={button('secondary')}
          disabled={policy.levels.length >= 10}
          onClick={() =>
            setPolicy((p) => ({
              ...p,
              levels: [...p.levels, { after_s: last ? last.after_s + 600 : 0, targets: [last ? 'role:owner' : 'oncall_now'] }],
            }))
          }
        >
          <PlusIcon /> Add a level
        </button>
        <label className="flex items-center gap-2 text-sm">
          Then run it again
          <input
            type="number"
            min={0}
            max={5}
            aria-label="Times the ladder runs again"
            className={cx(input, 'w-16')}
            value={policy.repeat}
            onChange={(e) => setPolicy((p) => ({ ...p, repeat: Math.min(5, Math.max(0, Number(e.target.value))) }))}
          />
          times
        </label>
      </div>
      {newer && (
        <p data-testid="policy-newer" className="text-sm text-amber">
          This policy covers a risk this version of Spartex Control does not know. Update the app to change it.
        </p>
      )}
      <button type="submit" data-testid="policy-save" disabled={newer || !changed || save.isPending} className={button('primary')}>
        Save escalation policy
      </button>
    </form>
  );
}
