import { useEffect, useRef, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import * as ipc from '../../ipc';
import type { Agent, Thread } from '../../bindings';
import { useMe, useMessages } from '../../state/queries';
import { keys } from '../../state/keys';
import { canAct } from '../../lib/roles';
import { formatTimestamp } from '../../lib/format';
import { button, input } from '../../lib/ui';
import { cx } from '../../lib/cx';
import { queuedState } from '../../lib/queued';
import { useNow } from '../../state/clock';
import { Markdown } from '../Markdown';
import { SendIcon } from '../Icons';

/** The project's thread or one agent's, with a box to write in (Enter sends). */
const ALL = '*';
/** The longest message the server takes (`POST …/messages`). */
const MESSAGE_MAX_CHARS = 16_000;

function threadOf(choice: string): Thread {
  if (choice === '') return { kind: 'project' };
  if (choice === ALL) return { kind: 'everything' };
  return { kind: 'agent', agent_id: choice };
}

export function ChatPanel({ projectId, agents }: { projectId: string; agents: Agent[] }) {
  // '' = the project-wide thread, '*' = every conversation (read; writes go to the project
  // thread), else an agent id.
  const [choice, setChoice] = useState('');
  const agentId = choice && choice !== ALL ? choice : null;
  const [body, setBody] = useState('');
  const { role, userId } = useMe();
  const { data: messages, isPending, error } = useMessages(projectId, threadOf(choice));
  const names = new Map(agents.map((a) => [a.id, a.name]));
  const client = useQueryClient();
  const now = useNow(30_000);
  const listRef = useRef<HTMLOListElement>(null);

  const [refusal, setRefusal] = useState<string | null>(null);
  const send = useMutation({
    mutationFn: (text: string) => ipc.sendMessage(projectId, agentId, text),
    onMutate: () => setRefusal(null),
    onSuccess: (queued) => {
      const became = queuedState(queued);
      // A refused message is kept in the box to correct and send again.
      if (became.state === 'refused') setRefusal(became.message);
      else setBody('');
      void client.invalidateQueries({ queryKey: keys.messagesOf(projectId) });
    },
  });

  // The newest message, not the count: a full page (200) keeps its count as a message arrives.
  const newest = messages?.at(-1)?.message.id;
  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [newest, choice]);

  const submit = () => {
    const text = body.trim();
    if (text && !send.isPending) send.mutate(text);
  };
  const writable = canAct(role);
  const target = agentId ? agents.find((a) => a.id === agentId) : null;

  return (
    <section aria-label="Chat" className="flex h-full min-h-[24rem] flex-col">
      <div className="flex items-center gap-2 border-b border-line px-4 py-2">
        <h2 className="text-sm font-semibold">Chat</h2>
        <select
          data-testid="chat-target"
          aria-label="Conversation"
          className={cx(input, 'ml-auto max-w-[60%]')}
          value={choice}
          onChange={(e) => setChoice(e.target.value)}
        >
          <option value="">Project thread</option>
          <option value={ALL}>All conversations</option>
          {agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name} ({a.role})
            </option>
          ))}
        </select>
      </div>
      <ol ref={listRef} className="min-h-0 flex-1 space-y-3 overflow-y-auto px-4 py-3" aria-live="polite" aria-label="Messages">
        {isPending && <li className="text-sm text-muted">Reading messages…</li>}
        {error && <li className="text-sm text-red">{error.message}</li>}
        {messages && messages.length === 0 && (
          <li className="py-8 text-center text-sm text-muted">
            {target ? `No messages with ${target.name} yet.` : 'No messages in the project thread yet.'}
          </li>
        )}
        {messages?.map(({ message: m, sending }) => {
          const mine = m.author_kind === 'user' && m.author_id === userId;
          return (
            <li
              key={m.id}
              data-testid="chat-message"
              data-author-kind={m.author_kind}
              data-sending={String(sending)}
              className={cx('max-w-[92%] text-sm', mine && 'ml-auto')}
            >
              <div className={cx('flex items-baseline gap-2 text-xs', mine && 'justify-end')}>
                <span className={cx('font-medium', m.author_kind === 'agent' ? 'text-accent' : m.author_kind === 'system' ? 'text-muted' : 'text-fg')}>
                  {mine ? 'You' : m.author_name}
                  {m.author_kind === 'agent' && <span className="font-normal text-muted"> · agent</span>}
                </span>
                <time dateTime={m.created_at} className="tabular text-muted">
                  {sending ? <span className="text-amber">sending…</span> : formatTimestamp(m.created_at, now)}
                </time>
                {choice === ALL && m.agent_id && <span className="text-muted">· with {names.get(m.agent_id) ?? 'an agent'}</span>}
              </div>
              <div
                className={cx(
                  'mt-0.5 rounded-lg px-3 py-2',
                  mine ? 'bg-accent/10' : m.author_kind === 'system' ? 'bg-transparent px-0 text-muted italic' : 'bg-raised',
                  sending && 'opacity-70',
                )}
              >
                <Markdown text={m.body} />
              </div>
            </li>
          );
        })}
      </ol>
      {writable ? (
        <form
          className="border-t border-line p-3"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          {(send.error || refusal) && (
            <p role="alert" data-testid="chat-refused" className="mb-2 text-sm text-red">
              {send.error ? send.error.message : `Not sent: ${refusal}`}
            </p>
          )}
          <div className="flex items-end gap-2">
            <textarea
              data-testid="chat-input"
              aria-label={target ? `Message ${target.name}` : 'Message the project thread'}
              className={cx(input, 'max-h-32 min-h-11 w-full resize-none')}
              rows={1}
              placeholder={target ? `Message ${target.name}…` : 'Message everyone on this project…'}
              value={body}
              maxLength={MESSAGE_MAX_CHARS}
              onChange={(e) => setBody(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                  e.preventDefault();
                  submit();
                }
              }}
            />
            <button type="submit" data-testid="chat-send" disabled={!body.trim() || send.isPending} className={button('primary', 'shrink-0')}>
              <SendIcon /> Send
            </button>
          </div>
        </form>
      ) : (
        <p className="border-t border-line px-4 py-3 text-xs text-muted">Viewers can read the chat but not write in it.</p>
      )}
    </section>
  );
}
