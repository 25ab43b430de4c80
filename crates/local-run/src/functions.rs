//! The four functions, built with the constructors their Lambda binaries use, and the runner
//! that invokes them as Lambda would: JSON in, JSON out, a deadline, a timeout, a panic or an
//! injected crash failing only that invocation; every invocation recorded.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::future::Future;
use std::pin::Pin;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::activity::Activity;
use crate::aws_faults::AwsFaults;
use crate::environment::{FunctionEnvironment, sdk_config_for};
use crate::error::WorldError;
use crate::names::Function;

/// The four handlers, as each binary's `main` builds them.
pub(crate) struct FunctionSet {
    poller: sirslack_poller::Poller,
    slack_client: sirslack_slack_client::Handler,
    events_handler: sirslack_events_handler::EventsHandler,
    command_handler: sirslack_command_handler::CommandHandler,
}

impl FunctionSet {
    /// Builds each function from its environment and an SDK configuration made from it.
    pub(crate) async fn build(
        environments: &HashMap<Function, FunctionEnvironment>,
        aws_faults: &AwsFaults,
    ) -> Result<Self, WorldError> {
        let env = |function: Function| -> Result<&FunctionEnvironment, WorldError> {
            environments.get(&function).ok_or(WorldError::Setup {
                what: "function environment",
                reason: format!("no environment for {function}"),
            })
        };
        let setup = |function: Function| {
            move |error: String| WorldError::FunctionSetup {
                function,
                reason: error,
            }
        };

        let poller_env = env(Function::Poller)?;
        let poller_config = sirslack_poller::PollerConfig::from_lookup(|name| poller_env.get(name))
            .map_err(|error| setup(Function::Poller)(error.to_string()))?;
        let poller = sirslack_poller::Poller::from_sdk_config(
            &sdk_config_for(Function::Poller, poller_env, aws_faults),
            poller_config,
        );

        let client_env = env(Function::SlackClient)?;
        let client_config = sirslack_slack_client::Config::from_lookup(|name| client_env.get(name))
            .map_err(|error| setup(Function::SlackClient)(error.to_string()))?;
        let slack_client = sirslack_slack_client::Handler::from_aws(
            client_config,
            &sdk_config_for(Function::SlackClient, client_env, aws_faults),
        )
        .map_err(|error| setup(Function::SlackClient)(error.to_string()))?;

        let events_env = env(Function::EventsHandler)?;
        let events_config =
            sirslack_events_handler::Config::from_lookup(|name| events_env.get(name))
                .map_err(|error| setup(Function::EventsHandler)(error.to_string()))?;
        let events_handler = sirslack_events_handler::EventsHandler::builder(
            events_config,
            sdk_config_for(Function::EventsHandler, events_env, aws_faults),
        )
        .build()
        .await
        .map_err(|error| setup(Function::EventsHandler)(error.to_string()))?;

        let commands_env = env(Function::CommandHandler)?;
        let commands_config =
            sirslack_command_handler::Config::from_lookup(|name| commands_env.get(name))
                .map_err(|error| setup(Function::CommandHandler)(error.to_string()))?;
        let command_handler = sirslack_command_handler::CommandHandler::from_aws(
            &commands_config,
            &sdk_config_for(Function::CommandHandler, commands_env, aws_faults),
        )
        .map_err(|error| setup(Function::CommandHandler)(error.to_string()))?;

        Ok(Self {
            poller,
            slack_client,
            events_handler,
            command_handler,
        })
    }

    /// Runs the poller's handler, as its binary's `service_fn` does.
    async fn run_poller(&self, payload: Value) -> Result<Value, String> {
        let report = self
            .poller
            .handle(&payload)
            .await
            .map_err(|error| error.to_string())?;
        serde_json::to_value(report).map_err(|error| error.to_string())
    }

    /// Runs the handler of any other function, as its binary's `service_fn` does.
    async fn run_sendable(
        &self,
        function: Function,
        payload: Value,
        deadline: SystemTime,
    ) -> Result<Value, String> {
        match function {
            Function::Poller => Err("the poller runs on its own thread".to_owned()),
            Function::SlackClient => {
                let event: SqsEvent =
                    serde_json::from_value(payload).map_err(|error| error.to_string())?;
                let deadline_ms = deadline.duration_since(UNIX_EPOCH).map_or(0, |since| {
                    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
                });
                let deadline = sirslack_slack_client::deadline_from_epoch_millis(
                    deadline_ms,
                    self.slack_client.config().deadline_margin,
                );
                let response = self.slack_client.handle(event, deadline).await;
                serde_json::to_value(response).map_err(|error| error.to_string())
            }
            Function::EventsHandler => self
                .events_handler
                .handle_invocation(payload)
                .await
                .map_err(|error| error.to_string()),
            Function::CommandHandler => self
                .command_handler
                .handle_invocation_until(payload, deadline)
                .await
                .map_err(|error| error.to_string()),
        }
    }
}

type LocalJob = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// A thread with its own single-threaded runtime, for handler futures that are not `Send`.
///
/// The poller's future is not provably `Send` (its stream of per-case syncs borrows across
/// awaits in a way the compiler cannot prove `Send` for every lifetime), which its binary does
/// not need: `lambda_runtime` runs it on the main task. Here it gets a thread of its own, as it
/// would get a process of its own in Lambda. The thread ends when the world drops its worker.
struct LocalWorker {
    jobs: mpsc::UnboundedSender<LocalJob>,
}

impl LocalWorker {
    fn start(name: &str) -> Result<Self, WorldError> {
        let (jobs, mut queue) = mpsc::unbounded_channel::<LocalJob>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| WorldError::setup("local worker runtime", error))?;
        std::thread::Builder::new()
            .name(name.to_owned())
            .stack_size(HANDLER_STACK_SIZE)
            .spawn(move || {
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    while let Some(job) = queue.recv().await {
                        tokio::task::spawn_local(job());
                    }
                });
            })
            .map_err(|error| WorldError::setup("local worker thread", error))?;
        Ok(Self { jobs })
    }
}

/// Stack of the threads that run handlers: the deepest handler futures need more than a
/// default 2 MiB thread in debug builds (a Lambda process's main thread has 8 MiB).
pub const HANDLER_STACK_SIZE: usize = 8 * 1024 * 1024;

/// A handler running somewhere: a task on the world's runtime, or a job on the local worker.
enum Running {
    Task(tokio::task::JoinHandle<Result<Value, String>>),
    Local {
        reply: oneshot::Receiver<Result<Value, String>>,
        cancel: Option<oneshot::Sender<()>>,
    },
}

impl Running {
    /// The handler's answer, or why there is none (a panic).
    async fn finish(&mut self) -> Result<Result<Value, String>, String> {
        match self {
            Running::Task(handle) => handle
                .await
                .map_err(|error| format!("the handler panicked: {error}")),
            Running::Local { reply, .. } => {
                reply.await.map_err(|_| "the handler panicked".to_owned())
            }
        }
    }

    /// Drops the handler where it is.
    fn abort(&mut self) {
        match self {
            Running::Task(handle) => handle.abort(),
            Running::Local { cancel, .. } => {
                if let Some(cancel) = cancel.take() {
                    let _ = cancel.send(());
                }
            }
        }
    }
}

/// What started an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A schedule (a Scheduled Event): the poller's reconcile or the events handler's lane
    /// sweep.
    Schedule,
    /// An EventBridge event delivered by a rule to the function's async event queue.
    RuleEvent {
        /// The event's `source`.
        source: String,
        /// The event's `detail-type`.
        detail_type: String,
        /// 1 for the first attempt, then the retries.
        attempt: u32,
    },
    /// A batch from the Slack client's event source mapping.
    SqsBatch {
        /// Records in the batch.
        records: usize,
    },
    /// API Gateway (`POST /slack/events`).
    ApiGateway {
        /// API Gateway's request ID.
        request_id: String,
    },
    /// `lambda:Invoke` with `InvocationType=Event`.
    AsyncInvoke {
        /// 1 for the first attempt, then the retries.
        attempt: u32,
    },
    /// `lambda:Invoke` with `InvocationType=RequestResponse`.
    SyncInvoke,
    /// The harness itself ([`crate::World::invoke`]).
    Direct,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Schedule => f.write_str("schedule"),
            Trigger::RuleEvent {
                source,
                detail_type,
                attempt,
            } => {
                write!(f, "{source} `{detail_type}`")?;
                if *attempt > 1 {
                    write!(f, " (attempt {attempt})")?;
                }
                Ok(())
            }
            Trigger::SqsBatch { records } => write!(f, "SQS batch of {records}"),
            Trigger::ApiGateway { .. } => f.write_str("POST /slack/events"),
            Trigger::AsyncInvoke { attempt } => {
                f.write_str("lambda:Invoke (Event)")?;
                if *attempt > 1 {
                    write!(f, " (attempt {attempt})")?;
                }
                Ok(())
            }
            Trigger::SyncInvoke => f.write_str("lambda:Invoke (RequestResponse)"),
            Trigger::Direct => f.write_str("direct"),
        }
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum InvocationOutcome {
    /// The handler answered.
    Succeeded(Value),
    /// The handler returned an error or panicked (a function error).
    Failed(String),
    /// An injected crash ended it (as if the process died).
    Crashed,
    /// It ran past the function timeout.
    TimedOut,
}

impl InvocationOutcome {
    /// Whether Lambda counts it as a success.
    pub fn is_success(&self) -> bool {
        matches!(self, InvocationOutcome::Succeeded(_))
    }
}

/// One invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationRecord {
    /// Which function.
    pub function: Function,
    /// What started it.
    pub trigger: Trigger,
    /// When it started, since the world started.
    pub started: Duration,
    /// How long it ran.
    pub duration: Duration,
    /// How it ended.
    pub outcome: InvocationOutcome,
}

/// Where an injected crash happens.
#[derive(Clone)]
pub enum CrashPoint {
    /// Before the handler starts (as a failed init does).
    BeforeStart,
    /// After the handler ran this long.
    After(Duration),
    /// As soon as this condition holds (checked every 5 ms while the handler runs), e.g.
    /// `move || slack.call_count("chat.postMessage") >= 3`.
    When(Arc<dyn Fn() -> bool + Send + Sync>),
}

impl fmt::Debug for CrashPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrashPoint::BeforeStart => f.write_str("BeforeStart"),
            CrashPoint::After(delay) => f.debug_tuple("After").field(delay).finish(),
            CrashPoint::When(_) => f.write_str("When(..)"),
        }
    }
}

#[derive(Debug, Clone)]
struct CrashFault {
    function: Function,
    times: u32,
    point: CrashPoint,
}

/// Crashes queued for the next invocations of a function.
#[derive(Debug, Clone, Default)]
pub struct FunctionFaults {
    crashes: Arc<Mutex<Vec<CrashFault>>>,
}

impl FunctionFaults {
    fn lock(&self) -> MutexGuard<'_, Vec<CrashFault>> {
        self.crashes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `times` invocations of `function` crash at `point`: the handler is dropped
    /// where it is (what it already did stays done, nothing after happens) and the invocation
    /// fails, so the trigger retries as it would after a dead process: SQS redelivers after the
    /// visibility timeout, async invocations are retried, API Gateway answers 502.
    pub fn crash_next(&self, function: Function, times: u32, point: CrashPoint) {
        if times > 0 {
            self.lock().push(CrashFault {
                function,
                times,
                point,
            });
        }
    }

    /// Crashes still queued for `function`.
    pub fn pending(&self, function: Function) -> u32 {
        self.lock()
            .iter()
            .filter(|fault| fault.function == function)
            .map(|fault| fault.times)
            .sum()
    }

    /// Drops every queued crash.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn take(&self, function: Function) -> Option<CrashPoint> {
        let mut crashes = self.lock();
        let fault = crashes
            .iter_mut()
            .find(|fault| fault.function == function && fault.times > 0)?;
        fault.times -= 1;
        let point = fault.point.clone();
        crashes.retain(|fault| fault.times > 0);
        Some(point)
    }
}

/// Every invocation so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Invocations {
    records: Arc<Mutex<Vec<InvocationRecord>>>,
}

impl Invocations {
    pub(crate) fn all(&self) -> Vec<InvocationRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push(&self, record: InvocationRecord) {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }
}

/// Invokes functions as Lambda does.
pub(crate) struct Runner {
    /// Replaced whole by a redeploy; an invocation keeps the set it started with.
    functions: Mutex<Arc<FunctionSet>>,
    poller_worker: LocalWorker,
    timeouts: HashMap<Function, Duration>,
    faults: FunctionFaults,
    invocations: Invocations,
    activity: Activity,
    started: Instant,
}

impl Runner {
    pub(crate) fn new(
        functions: FunctionSet,
        timeouts: HashMap<Function, Duration>,
        faults: FunctionFaults,
        invocations: Invocations,
        activity: Activity,
        started: Instant,
    ) -> Result<Self, WorldError> {
        Ok(Self {
            functions: Mutex::new(Arc::new(functions)),
            poller_worker: LocalWorker::start("sir-poller")?,
            timeouts,
            faults,
            invocations,
            activity,
            started,
        })
    }

    /// From now on, invocations run `functions` (a redeploy: every function cold); those
    /// already running finish with the set they started with.
    pub(crate) fn replace_functions(&self, functions: FunctionSet) {
        *self
            .functions
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(functions);
    }

    /// Starts a handler.
    fn start(&self, function: Function, payload: Value, deadline: SystemTime) -> Running {
        let functions = Arc::clone(
            &self
                .functions
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if function != Function::Poller {
            return Running::Task(tokio::spawn(async move {
                Box::pin(functions.run_sendable(function, payload, deadline)).await
            }));
        }
        let (reply_sender, reply) = oneshot::channel();
        let (cancel, cancelled) = oneshot::channel::<()>();
        let job: LocalJob = Box::new(move || {
            Box::pin(async move {
                tokio::select! {
                    result = functions.run_poller(payload) => {
                        // The runner may have stopped waiting (timeout); nothing to tell then.
                        let _ = reply_sender.send(result);
                    }
                    _ = cancelled => {}
                }
            })
        });
        if self.poller_worker.jobs.send(job).is_err() {
            let (dead_sender, reply) = oneshot::channel();
            let _ = dead_sender.send(Err("the poller's thread is gone".to_owned()));
            return Running::Local {
                reply,
                cancel: None,
            };
        }
        Running::Local {
            reply,
            cancel: Some(cancel),
        }
    }

    /// One invocation of `function` with `payload`. The handler runs in a task of its own, so
    /// that nobody waiting for it (an HTTP client that hung up) can cancel it, and a panic
    /// fails only this invocation.
    pub(crate) async fn invoke(
        &self,
        function: Function,
        trigger: Trigger,
        payload: Value,
    ) -> InvocationOutcome {
        let started = Instant::now();
        // A scheduled reconcile that finds nothing is not activity: the schedule never stops.
        let busy = (trigger != Trigger::Schedule).then(|| self.activity.begin());
        let timeout = self
            .timeouts
            .get(&function)
            .copied()
            .unwrap_or(Duration::from_secs(900));
        let crash = self.faults.take(function);
        let outcome = match crash {
            Some(CrashPoint::BeforeStart) => InvocationOutcome::Crashed,
            crash => {
                let mut running = self.start(function, payload, SystemTime::now() + timeout);
                let crashed = async {
                    match crash {
                        Some(CrashPoint::After(delay)) => tokio::time::sleep(delay).await,
                        Some(CrashPoint::When(condition)) => {
                            while !condition() {
                                tokio::time::sleep(Duration::from_millis(5)).await;
                            }
                        }
                        Some(CrashPoint::BeforeStart) | None => std::future::pending().await,
                    }
                };
                let ended = tokio::select! {
                    finished = running.finish() => Some(match finished {
                        Ok(Ok(result)) => InvocationOutcome::Succeeded(result),
                        Ok(Err(error)) => InvocationOutcome::Failed(error),
                        Err(panic) => InvocationOutcome::Failed(panic),
                    }),
                    () = crashed => None,
                    () = tokio::time::sleep(timeout) => Some(InvocationOutcome::TimedOut),
                };
                match ended {
                    Some(InvocationOutcome::TimedOut) => {
                        running.abort();
                        InvocationOutcome::TimedOut
                    }
                    Some(outcome) => outcome,
                    None => {
                        running.abort();
                        InvocationOutcome::Crashed
                    }
                }
            }
        };
        if !outcome.is_success() {
            tracing::warn!(function = %function, trigger = %trigger, outcome = ?outcome, "invocation failed");
        }
        // A schedule that published events (the reconcile) or drained a lane (the sweep) did
        // something; one that found nothing to do is not activity.
        let published = match &outcome {
            InvocationOutcome::Succeeded(report) => ["eventsPublished", "lanesDrained"]
                .iter()
                .filter_map(|name| report.get(*name).and_then(Value::as_u64))
                .sum(),
            _ => 1,
        };
        if busy.is_none() && published > 0 {
            self.activity.touch();
        }
        drop(busy);
        self.invocations.push(InvocationRecord {
            function,
            trigger,
            started: started.duration_since(self.started),
            duration: started.elapsed(),
            outcome: outcome.clone(),
        });
        outcome
    }
}
