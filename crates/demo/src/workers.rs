//! Simulated agent workers. Each uses the agent-worker API over HTTP and the control socket,
//! exactly as a real worker would: tasks, progress, cost, chat, approvals, and stops obeyed
//! within a second. Every wait (a pause, a long poll, an HTTP call, a reconnect) also ends
//! when the demo shuts down, however slow the pace.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use spartex_api::{
    AgentControl, AgentMessageRequest, AgentStatus, Approval, ApprovalStatus, AuthorKind,
    HeartbeatRequest, HeartbeatResponse, Message, StopAckRequest, Task, TaskStatus,
    UpsertTaskRequest,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::agent_api::{control_socket, stopped, AgentApi, CallError};
use super::asks::Asks;
use super::script::{self, Brief};
use super::seed::DemoAgent;

/// The running workers; `stop` ends them all.
pub struct Workers {
    shutdown: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Tells every worker to stop and waits for them, 5 s at most in all. Returns how many
    /// had not stopped by then and were aborted.
    pub async fn stop(self) -> usize {
        self.shutdown.send_replace(true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut stuck = 0;
        for mut handle in self.handles {
            if tokio::time::timeout_at(deadline, &mut handle)
                .await
                .is_err()
            {
                handle.abort();
                stuck += 1;
            }
        }
        if stuck > 0 {
            tracing::warn!(
                stuck,
                "simulated workers did not stop within 5 s; aborted them"
            );
        }
        stuck
    }
}

/// Starts one worker per agent against the server at `base_url`; `pace` is the time between steps.
pub fn spawn_all(base_url: String, agents: Vec<DemoAgent>, pace: Duration) -> Workers {
    let (shutdown, _) = watch::channel(false);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(90))
        // Shorter than the server's idle keep-alive (the header timeout, 10 s by default).
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new());
    let handles = agents
        .into_iter()
        .enumerate()
        .map(|(index, demo)| {
            let mut shutdown = shutdown.subscribe();
            let api = AgentApi {
                http: http.clone(),
                base: base_url.clone(),
                token: demo.token.clone(),
                shutdown: shutdown.clone(),
            };
            tokio::spawn(async move {
                // Stagger starts so the demo does not move in lockstep; at slow paces the
                // jitter of each step does that, so a couple of seconds of spread is enough.
                let spread = pace.min(Duration::from_secs(2));
                let offset = spread.mul_f64(0.37 * index as f64 % 1.0 + 0.1);
                tokio::select! {
                    () = tokio::time::sleep(offset) => {}
                    () = stopped(&mut shutdown) => return,
                }
                Worker::new(api, demo, pace).run(shutdown).await;
            })
        })
        .collect();
    Workers { shutdown, handles }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Working,
    Paused,
    Stopped,
}

/// Whether a wait ran its course or something made the worker drop what it was doing.
enum Flow {
    Continue,
    Interrupted,
}

struct Worker {
    api: AgentApi,
    demo: DemoAgent,
    brief: Brief,
    pace: Duration,
    round: u64,
    feedback: Option<String>,
    mode: Mode,
    rng: StdRng,
    control: mpsc::Receiver<AgentControl>,
    control_tx: Option<mpsc::Sender<AgentControl>>,
    asked_again: Asks,
}

impl Worker {
    fn new(api: AgentApi, demo: DemoAgent, pace: Duration) -> Self {
        let (control_tx, control) = mpsc::channel(64);
        let brief = Brief::of(&demo.project_name);
        let round = demo.agent.id.bytes().map(u64::from).sum::<u64>() % 4;
        Worker {
            api,
            demo,
            brief,
            pace,
            round,
            feedback: None,
            mode: Mode::Working,
            rng: StdRng::from_entropy(),
            control,
            control_tx: Some(control_tx),
            asked_again: Asks::default(),
        }
    }

    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        if let Some(tx) = self.control_tx.take() {
            tokio::spawn(control_socket(
                self.api.control_url(),
                self.api.token.clone(),
                tx,
                shutdown.clone(),
            ));
        }
        while !*shutdown.borrow() {
            let flow = match self.mode {
                Mode::Working => match self.asked_again.take() {
                    Some((id, comment)) => self.propose_again(&id, comment, &mut shutdown).await,
                    None => self.one_task(&mut shutdown).await,
                },
                Mode::Paused | Mode::Stopped => self.idle(&mut shutdown).await,
            };
            if let Err(CallError::Failed(reason) | CallError::Refused(reason)) = flow {
                tracing::debug!(agent = %self.demo.agent.name, %reason, "simulated worker step failed; retrying");
                if matches!(self.wait(self.pace, &mut shutdown).await, Flow::Interrupted)
                    && *shutdown.borrow()
                {
                    break;
                }
            }
        }
    }

    fn jittered(&mut self, base: Duration) -> Duration {
        base.mul_f64(self.rng.gen_range(0.6..1.4))
    }

    /// Waits, answering chat meanwhile; a stop, a pause or shutdown interrupts.
    async fn wait(&mut self, duration: Duration, shutdown: &mut watch::Receiver<bool>) -> Flow {
        let deadline = tokio::time::Instant::now() + duration;
        loop {
            let frame = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return Flow::Continue,
                () = stopped(shutdown) => return Flow::Interrupted,
                frame = self.control.recv() => frame,
            };
            match frame {
                Some(frame) => {
                    if self.handle(frame).await {
                        return Flow::Interrupted;
                    }
                }
                // The control socket has ended (it does on shutdown): wait on without it.
                None => {
                    return tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => Flow::Continue,
                        () = stopped(shutdown) => Flow::Interrupted,
                    }
                }
            }
        }
    }

    /// Applies a control frame. Returns true when current work must be dropped.
    async fn handle(&mut self, frame: AgentControl) -> bool {
        match frame {
            AgentControl::Stop { stop_id } => {
                self.mode = Mode::Stopped;
                let acked: Result<serde_json::Value, _> = self
                    .api
                    .post(
                        "stop-ack",
                        &StopAckRequest {
                            stop_id: stop_id.clone(),
                        },
                    )
                    .await;
                if let Err(e) = acked {
                    tracing::warn!(agent = %self.demo.agent.name, error = ?e, "could not acknowledge a stop");
                }
                true
            }
            AgentControl::Pause { .. } => {
                self.mode = Mode::Paused;
                true
            }
            AgentControl::Resume => {
                self.mode = Mode::Working;
                false
            }
            AgentControl::Message { message } => {
                self.answer_chat(message);
                false
            }
            AgentControl::AskAgain {
                approval_id,
                comment,
            } => {
                self.asked_again.hear(approval_id, comment);
                false
            }
        }
    }

    /// Proposes an expired request again, as a person asked, and waits for the decision.
    async fn propose_again(
        &mut self,
        expired_id: &str,
        comment: Option<String>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), CallError> {
        let expired: Approval = self.api.get(&format!("approvals/{expired_id}")).await?;
        let mut request = script::reproposal(&expired, comment.as_deref());
        self.say(&format!("Asking again: {}.", request.title))
            .await?;
        let mut proposed = self.api.post("approvals", &request).await;
        if matches!(proposed, Err(CallError::Refused(_))) {
            // The ask lapsed while this agent was busy (or was answered): propose it unlinked.
            // Only then: after a failure that may have been saved, another try would be a second
            // request.
            request.answers_ask = None;
            proposed = self.api.post("approvals", &request).await;
        }
        let approval: Approval = match proposed {
            Ok(approval) => approval,
            Err(CallError::Halted) => {
                self.mode = Mode::Stopped;
                return Ok(());
            }
            Err(other) => return Err(other),
        };
        let Some(settled) = self.await_decision(&approval.id, shutdown).await? else {
            return Ok(());
        };
        self.say(&script::outcome_message(
            settled.status,
            &settled.title,
            settled.comment.as_deref(),
        ))
        .await
    }

    fn answer_chat(&mut self, message: Message) {
        let to_me = message.agent_id.as_deref() == Some(self.demo.agent.id.as_str());
        let to_project_and_i_lead = message.agent_id.is_none() && self.demo.lead;
        if message.author_kind != AuthorKind::User || !(to_me || to_project_and_i_lead) {
            return;
        }
        let reply = script::chat_reply(&self.demo.agent.role, &self.demo.agent.name, &message.body);
        let api = self.api.clone();
        let delay = self.jittered(self.pace / 3).min(Duration::from_secs(3));
        tokio::spawn(async move {
            let mut shutdown = api.shutdown.clone();
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stopped(&mut shutdown) => return,
            }
            let posted: Result<Message, _> = api
                .post(
                    "messages",
                    &AgentMessageRequest {
                        body: reply,
                        to_project: message.agent_id.is_none(),
                    },
                )
                .await;
            if let Err(e) = posted {
                tracing::debug!(error = ?e, "simulated chat reply not posted");
            }
        });
    }

    async fn idle(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<(), CallError> {
        let pause = self.pace * 2;
        if let Flow::Interrupted = self.wait(pause, shutdown).await {
            return Ok(());
        }
        let beat = self.heartbeat(AgentStatus::Idle, None, (0, 0, 0.0)).await?;
        if beat.stop_requested {
            if let (Some(stop_id), Mode::Working | Mode::Paused) = (beat.stop_id, self.mode) {
                self.handle(AgentControl::Stop { stop_id }).await;
            }
            self.mode = Mode::Stopped;
        } else if !beat.paused {
            self.mode = Mode::Working;
        }
        Ok(())
    }

    async fn heartbeat(
        &self,
        status: AgentStatus,
        task: Option<&str>,
        cost: (i64, i64, f64),
    ) -> Result<HeartbeatResponse, CallError> {
        self.api
            .post(
                "heartbeat",
                &HeartbeatRequest {
                    status,
                    current_task: task.map(str::to_owned),
                    tokens_in: cost.0,
                    tokens_out: cost.1,
                    cost_usd: cost.2,
                },
            )
            .await
    }

    /// Reacts to what a heartbeat said. Returns true when work must stop.
    async fn obey(&mut self, beat: &HeartbeatResponse) -> bool {
        if beat.stop_requested {
            match &beat.stop_id {
                Some(stop_id) => {
                    self.handle(AgentControl::Stop {
                        stop_id: stop_id.clone(),
                    })
                    .await;
                }
                None => self.mode = Mode::Stopped,
            }
            return true;
        }
        if beat.paused {
            self.mode = Mode::Paused;
            return true;
        }
        false
    }

    async fn update_task(
        &self,
        id: &str,
        status: Option<TaskStatus>,
        progress: Option<i64>,
    ) -> Result<Task, CallError> {
        self.api
            .post(
                "tasks",
                &UpsertTaskRequest {
                    id: Some(id.to_owned()),
                    title: None,
                    status,
                    progress,
                },
            )
            .await
    }

    async fn say(&self, body: &str) -> Result<(), CallError> {
        self.api
            .post::<_, Message>(
                "messages",
                &AgentMessageRequest {
                    body: body.to_owned(),
                    to_project: false,
                },
            )
            .await
            .map(|_| ())
    }

    async fn one_task(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<(), CallError> {
        let plan = script::next_task(
            &self.demo.agent.role,
            self.brief,
            self.round,
            self.feedback.take().as_deref(),
        );
        self.round += 1;
        let halted = |e: CallError, mode: &mut Mode| match e {
            CallError::Halted => {
                *mode = Mode::Stopped;
                Ok(())
            }
            other => Err(other),
        };
        let task: Task = match self
            .api
            .post(
                "tasks",
                &UpsertTaskRequest {
                    id: None,
                    title: Some(plan.title.clone()),
                    status: Some(TaskStatus::Running),
                    progress: Some(0),
                },
            )
            .await
        {
            Ok(task) => task,
            Err(e) => return halted(e, &mut self.mode),
        };
        if let Some(opening) = &plan.opening {
            self.say(opening).await?;
        }
        for step in 1..=plan.steps {
            let pause = self.jittered(self.pace);
            if let Flow::Interrupted = self.wait(pause, shutdown).await {
                return Ok(());
            }
            let failing = self.demo.agent.role == "Analyst" && self.round % 9 == 4 && step == 2;
            let status = if failing {
                AgentStatus::Error
            } else {
                AgentStatus::Working
            };
            let cost = script::step_cost(&self.demo.agent.model, self.round + u64::from(step));
            let beat = self.heartbeat(status, Some(&task.id), cost).await?;
            if self.obey(&beat).await {
                return Ok(());
            }
            if failing {
                self.say("The ad network's reporting API answered 503 three times in a row. Retrying in a minute; numbers below may lag.").await?;
                let pause = self.pace * 3;
                if let Flow::Interrupted = self.wait(pause, shutdown).await {
                    return Ok(());
                }
            }
            let progress = i64::from(step * 100 / (plan.steps + 1));
            self.update_task(&task.id, None, Some(progress)).await?;
            if self.rng.gen_bool(0.3) {
                self.say(script::progress_note(
                    &self.demo.agent.role,
                    self.round + u64::from(step),
                ))
                .await?;
            }
        }
        let final_status = match plan.approval {
            None => TaskStatus::Done,
            Some(mut request) => {
                request.task_id = Some(task.id.clone());
                self.update_task(&task.id, Some(TaskStatus::Blocked), None)
                    .await?;
                let approval: Approval = match self.api.post("approvals", &request).await {
                    Ok(approval) => approval,
                    Err(e) => return halted(e, &mut self.mode),
                };
                let Some(settled) = self.await_decision(&approval.id, shutdown).await? else {
                    return Ok(());
                };
                self.say(&script::outcome_message(
                    settled.status,
                    &settled.title,
                    settled.comment.as_deref(),
                ))
                .await?;
                match settled.status {
                    ApprovalStatus::Approved => TaskStatus::Done,
                    ApprovalStatus::Rejected => {
                        self.feedback = settled.comment.clone();
                        if self.feedback.is_some() {
                            self.round -= 1; // the same piece of work, reworked
                        }
                        TaskStatus::Cancelled
                    }
                    _ => TaskStatus::Cancelled,
                }
            }
        };
        self.update_task(&task.id, Some(final_status), None).await?;
        let beat = self.heartbeat(AgentStatus::Idle, None, (0, 0, 0.0)).await?;
        self.obey(&beat).await;
        Ok(())
    }

    /// Long-polls the decision while obeying control frames. `None` when work must stop.
    async fn await_decision(
        &mut self,
        id: &str,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<Approval>, CallError> {
        enum Next {
            Polled(Result<Box<Approval>, CallError>),
            Frame(Option<AgentControl>),
            Shutdown,
        }
        loop {
            let next = {
                let path = format!("approvals/{id}?wait_s=20");
                let poll = self.api.get::<Box<Approval>>(&path);
                tokio::select! {
                    polled = poll => Next::Polled(polled),
                    frame = self.control.recv() => Next::Frame(frame),
                    () = stopped(shutdown) => Next::Shutdown,
                }
            };
            match next {
                Next::Polled(Ok(approval)) if approval.status != ApprovalStatus::Pending => {
                    return Ok(Some(*approval))
                }
                Next::Polled(Ok(_)) => {}
                Next::Polled(Err(e)) => return Err(e),
                Next::Frame(Some(frame)) => {
                    if self.handle(frame).await {
                        return Ok(None);
                    }
                }
                Next::Frame(None) | Next::Shutdown => return Ok(None),
            }
        }
    }
}
