import { lazy, Suspense, useState, type ReactNode } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { useMutation } from '@tanstack/react-query';
import * as ipc from '../ipc';
import { useMe, useProject } from '../state/queries';
import { usePageTitle } from '../state/pageTitle';
import { useStopSending } from '../state/stops';
import { toast } from '../state/toasts';
import { queuedState } from '../lib/queued';
import { canAct, canResume } from '../lib/roles';
import { PROJECT_STATUS } from '../lib/status';
import { button, card, sectionTitle } from '../lib/ui';
import { cx } from '../lib/cx';
import { StatusPill } from '../components/Status';
import { BudgetBar } from '../components/BudgetBar';
import { ErrorState, LoadingRows } from '../components/States';
import { PlayIcon, StopIcon } from '../components/Icons';
import { StopFlow } from '../components/StopFlow';
import { StopProgress } from '../components/StopProgress';
import { AgentsTable } from '../components/project/AgentsTable';
import { TasksList } from '../components/project/TasksList';
import { Timeline } from '../components/project/Timeline';
import { ChatPanel } from '../components/project/ChatPanel';
import { PendingForProject } from '../components/project/PendingForProject';

// recharts is most of the bundle: load it with the first project page, not at start.
const SpendChart = lazy(() => import('../components/project/SpendChart').then((m) => ({ default: m.SpendChart })));

function Section({ title, aside, children, className }: { title: string; aside?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={cx(card, 'overflow-hidden', className)} aria-label={title}>
      <div className="flex items-center justify-between gap-2 border-b border-line px-4 py-2">
        <h2 className={sectionTitle}>{title}</h2>
        {aside}
      </div>
      {children}
    </section>
  );
}

export function ProjectPage() {
  const { projectId = '' } = useParams();
  const { data: view, error, isPending } = useProject(projectId);
  usePageTitle(view?.project.name ?? 'Project');
  const { role } = useMe();
  const sending = useStopSending(projectId);
  const [stopOpen, setStopOpen] = useState(false);
  // `?stop=project` (a tap on a stop's notification) opens the stop panel: hold to stop, never a stop.
  const [params, setParams] = useSearchParams();
  const askedToStop = params.get('stop') === 'project' && canAct(role);
  const stopShown = stopOpen || askedToStop;
  const openStop = (open: boolean) => {
    setStopOpen(open);
    if (!open && askedToStop) setParams({}, { replace: true });
  };
  const resume = useMutation({
    mutationFn: () => ipc.resume(projectId),
    onSuccess: (q) => {
      const became = queuedState(q);
      toast(
        became.state === 'delivered'
          ? { tone: 'success', message: `${view?.project.name ?? 'The project'} is resuming; its agents pick up their work.` }
          : became.state === 'refused'
            ? { tone: 'error', title: 'The server refused the resume', message: became.message }
            : { tone: 'warning', message: became.why ?? 'The resume is queued and will be sent when the connection returns.' },
      );
    },
    onError: (e) => toast({ tone: 'error', title: 'Could not resume', message: e.message }),
  });

  if (isPending) return <LoadingRows label="Reading the project from the cache" />;
  if (error) return <ErrorState error={error} title="Could not open this project" />;

  const { project } = view;
  const stopped = project.status === 'stopped';
  const latest = view.stops[0];
  // A stop in a state this version does not know may still be on its way: its progress shows.
  const showStop = sending || stopped || latest?.status === 'pending' || latest?.status === 'unknown';

  return (
    <div data-testid="project-page" data-project-id={project.id} className="mx-auto w-full max-w-7xl px-3 py-4 sm:px-6 sm:py-5">
      <header className="mb-4 flex flex-wrap items-start gap-x-4 gap-y-3">
        <div className="min-w-0 flex-1">
          <div className="flex flex-wrap items-center gap-2">
            <h1 data-testid="project-title" className="truncate text-lg font-semibold">
              {project.name}
            </h1>
            <span data-testid="project-status" data-status={project.status}>
              <StatusPill look={PROJECT_STATUS[project.status]} />
            </span>
          </div>
          {project.description && <p className="mt-0.5 line-clamp-2 text-sm text-muted">{project.description}</p>}
          <div className="mt-2 max-w-sm">
            <BudgetBar spent={project.spent_usd} budget={project.budget_usd} testId="project-budget" />
          </div>
        </div>
        {/* The stop is always here, top right, for everyone who may pull it. */}
        <div className="flex w-full shrink-0 items-center gap-2 sm:w-auto">
          {stopped && canResume(role) && (
            <button
              type="button"
              data-testid="project-resume-button"
              onClick={() => resume.mutate()}
              disabled={resume.isPending}
              className={button('secondary', 'flex-1 sm:flex-none')}
            >
              <PlayIcon /> {resume.isPending ? 'Resuming…' : 'Resume'}
            </button>
          )}
          {canAct(role) && (
            <button
              type="button"
              data-testid="project-stop-button"
              onClick={() => setStopOpen(true)}
              className={button('danger', 'flex-1 sm:flex-none')}
            >
              <StopIcon /> Emergency stop
            </button>
          )}
        </div>
      </header>

      {/* While the stop dialog is open it shows the progress itself: one progress view at a time. */}
      {showStop && !stopOpen && (
        <div className="mb-4">
          <StopProgress projectId={project.id} sending={sending} />
        </div>
      )}

      <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_24rem]">
        <div className="min-w-0 space-y-4">
          {/* In the column, not above the grid: requests come and go without moving the chat. */}
          <PendingForProject approvals={view.approvals} />
          <Section title={`Agents (${view.agents.length})`}>
            <AgentsTable agents={view.agents} tasks={view.tasks} />
          </Section>
          <Section title="Tasks">
            <TasksList tasks={view.tasks} agents={view.agents} />
          </Section>
          <Section title="Spend">
            <Suspense fallback={<div className="h-48" role="status" aria-label="Loading the spend chart" />}>
              <SpendChart points={view.spend_by_day} agents={view.agents} />
            </Suspense>
          </Section>
          <Section title="Activity">
            <Timeline entries={view.timeline} />
          </Section>
        </div>
        <div className={cx(card, 'overflow-hidden lg:sticky lg:top-4 lg:h-[calc(100vh-8rem)] lg:self-start')}>
          <ChatPanel key={project.id} projectId={project.id} agents={view.agents} />
        </div>
      </div>

      {stopShown && (
        <StopFlow
          target={{ scope: 'project', projectId: project.id, projectName: project.name }}
          open={stopShown}
          onOpenChange={openStop}
        />
      )}
    </div>
  );
}
