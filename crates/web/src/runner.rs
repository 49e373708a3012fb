//! The batch-run worker: a gloo-worker oneshot, one [`RunnerInput`] in, one result out.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use gloo_worker::oneshot::{Oneshot, OneshotRegistrar};

use crate::codec::JsObjects;
use crate::engine;
use crate::messages::{RunError, RunResult, RunnerInput};

/// One batch run in the worker (Rust nodes only; see [`RunError::NeedsPython`]).
pub struct Runner {
    answer: Pin<Box<dyn Future<Output = Result<RunResult, RunError>>>>,
}

impl Future for Runner {
    type Output = Result<RunResult, RunError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.answer.as_mut().poll(cx)
    }
}

impl Oneshot for Runner {
    type Input = RunnerInput;

    fn create(input: RunnerInput) -> Self {
        let answer = async move {
            match input {
                RunnerInput::Run(request) => engine::run(request).await,
                RunnerInput::Malformed(why) => Err(RunError::Malformed(why)),
            }
        };
        Runner {
            answer: Box::pin(answer),
        }
    }
}

/// Registers this worker as the batch-run worker (call it in the worker's script; see
/// `js/runner.js`).
pub fn register_runner() {
    OneshotRegistrar::<Runner>::new()
        .encoding::<JsObjects>()
        .register();
}
