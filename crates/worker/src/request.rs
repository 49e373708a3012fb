//! Which request (run or session step) the worker is computing: the marker the panic hook
//! reports and Python requests carry. Its own module, so the runtime and the Python bridge
//! both read it without depending on each other.

use std::future::Future;

thread_local! {
    /// The request whose future is being polled.
    static RUNNING_REQUEST: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

/// The request (run or session step) whose future is being polled now, if any: Python
/// requests carry it so the page can interrupt the one a cancelled run is waiting on, and
/// a panic report names it.
pub fn running_request() -> Option<u32> {
    RUNNING_REQUEST.with(|r| r.get())
}

/// `future`, marking `request` as running while it is polled (`None`: a step the page
/// gave no request id, such as a session push).
pub fn tagged<F: Future>(request: Option<u32>, future: F) -> impl Future<Output = F::Output> {
    let mut future = Box::pin(future);
    std::future::poll_fn(move |cx| {
        RUNNING_REQUEST.with(|r| r.set(request));
        let polled = future.as_mut().poll(cx);
        RUNNING_REQUEST.with(|r| r.set(None));
        polled
    })
}
