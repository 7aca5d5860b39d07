// The fixed words, tones and glyph shapes for every status, used everywhere (never colour
// alone): working blue, waiting for approval amber, error red, stopped grey, done green;
// risk rises from neutral to red.
import type {
  AgentStatus,
  ApprovalStatus,
  ProjectStatus,
  Risk,
  StopStatus,
  TaskStatus,
} from '../bindings';

export type Tone = 'blue' | 'amber' | 'red' | 'grey' | 'green' | 'orange' | 'neutral';
export type Shape =
  | 'dot'
  | 'ring'
  | 'half'
  | 'cross'
  | 'square'
  | 'check'
  | 'pause'
  | 'spinner'
  | 'bars1'
  | 'bars2'
  | 'bars3'
  | 'bars4';

export type StatusLook = { word: string; tone: Tone; shape: Shape };

export const PROJECT_STATUS: Record<ProjectStatus, StatusLook> = {
  active: { word: 'Active', tone: 'blue', shape: 'dot' },
  paused: { word: 'Paused', tone: 'grey', shape: 'pause' },
  stopped: { word: 'Stopped', tone: 'grey', shape: 'square' },
  completed: { word: 'Completed', tone: 'green', shape: 'check' },
  failed: { word: 'Failed', tone: 'red', shape: 'cross' },
  unknown: { word: 'Unknown — update the app', tone: 'grey', shape: 'ring' },
};

export const AGENT_STATUS: Record<AgentStatus, StatusLook> = {
  idle: { word: 'Idle', tone: 'neutral', shape: 'ring' },
  working: { word: 'Working', tone: 'blue', shape: 'dot' },
  waiting_approval: { word: 'Waiting for approval', tone: 'amber', shape: 'half' },
  stopping: { word: 'Stopping', tone: 'grey', shape: 'spinner' },
  stopped: { word: 'Stopped', tone: 'grey', shape: 'square' },
  error: { word: 'Error', tone: 'red', shape: 'cross' },
  unknown: { word: 'Unknown — update the app', tone: 'grey', shape: 'ring' },
};

export const TASK_STATUS: Record<TaskStatus, StatusLook> = {
  queued: { word: 'Queued', tone: 'neutral', shape: 'ring' },
  running: { word: 'Running', tone: 'blue', shape: 'dot' },
  blocked: { word: 'Blocked', tone: 'amber', shape: 'half' },
  done: { word: 'Done', tone: 'green', shape: 'check' },
  failed: { word: 'Failed', tone: 'red', shape: 'cross' },
  cancelled: { word: 'Cancelled', tone: 'grey', shape: 'square' },
  unknown: { word: 'Unknown — update the app', tone: 'grey', shape: 'ring' },
};

export const RISK: Record<Risk, StatusLook> = {
  low: { word: 'Low risk', tone: 'neutral', shape: 'bars1' },
  medium: { word: 'Medium risk', tone: 'amber', shape: 'bars2' },
  high: { word: 'High risk', tone: 'orange', shape: 'bars3' },
  critical: { word: 'Critical risk', tone: 'red', shape: 'bars4' },
  // A risk from a newer server: shown, and ranked, as critical until the app knows it.
  unknown: { word: 'Unknown risk — treated as critical', tone: 'red', shape: 'bars4' },
};

export const RISK_RANK: Record<Risk, number> = {
  unknown: 0,
  critical: 0,
  high: 1,
  medium: 2,
  low: 3,
};

/** Critical, or a risk this version does not know (treated as critical). */
export const isCritical = (risk: Risk) => RISK_RANK[risk] === 0;

export const APPROVAL_STATUS: Record<ApprovalStatus, StatusLook> = {
  pending: { word: 'Pending', tone: 'amber', shape: 'half' },
  approved: { word: 'Approved', tone: 'green', shape: 'check' },
  rejected: { word: 'Rejected', tone: 'grey', shape: 'cross' },
  expired: { word: 'Expired', tone: 'grey', shape: 'ring' },
  cancelled: { word: 'Cancelled', tone: 'grey', shape: 'square' },
  unknown: { word: 'Unknown — update the app', tone: 'grey', shape: 'ring' },
};

export const STOP_STATUS: Record<StopStatus, StatusLook> = {
  pending: { word: 'Stopping — waiting for agents', tone: 'amber', shape: 'spinner' },
  completed: { word: 'Stopped — every agent acknowledged', tone: 'green', shape: 'check' },
  partial: { word: 'Stopped — some agents were forced', tone: 'red', shape: 'cross' },
  unknown: { word: 'Unknown — update the app', tone: 'grey', shape: 'ring' },
};

/** Text colour class for a tone (AA on canvas and surface in both themes). */
export const TONE_TEXT: Record<Tone, string> = {
  blue: 'text-blue',
  amber: 'text-amber',
  red: 'text-red',
  grey: 'text-grey',
  green: 'text-green',
  orange: 'text-orange',
  neutral: 'text-muted',
};

/** Soft background plus text colour, for pills. */
export const TONE_PILL: Record<Tone, string> = {
  blue: 'bg-blue-soft text-blue',
  amber: 'bg-amber-soft text-amber',
  red: 'bg-red-soft text-red',
  grey: 'bg-grey-soft text-grey',
  green: 'bg-green-soft text-green',
  orange: 'bg-orange-soft text-orange',
  neutral: 'bg-grey-soft text-muted',
};

/** Solid fill class, for bars. */
export const TONE_FILL: Record<Tone, string> = {
  blue: 'bg-blue',
  amber: 'bg-amber',
  red: 'bg-red',
  grey: 'bg-grey',
  green: 'bg-green',
  orange: 'bg-orange',
  neutral: 'bg-faint',
};
