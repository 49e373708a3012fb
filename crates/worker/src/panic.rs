//! Readable panics. A panic in wasm32 ends in an `unreachable` trap whose JS error
//! says nothing; this hook first hands the panic's message and location to a reporter.
//! In the worker the reporter is a JS function the worker script gives
//! ([`WorkerRuntime::on_panic`](crate::WorkerRuntime::on_panic)): it posts the message
//! to the page, which replaces the worker (its memory may be inconsistent after a
//! trap). Without one, the message goes to the console.

use std::cell::RefCell;
use std::panic::PanicHookInfo;
use std::sync::Once;

/// Receives a panic's text (`panicked at file:line:col: message`).
pub type Reporter = Box<dyn Fn(&str)>;

thread_local! {
    static REPORTER: RefCell<Option<Reporter>> = RefCell::new(None);
}

/// `panicked at src/x.rs:12:5: message`, the text a native panic prints.
pub fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    match info.location() {
        Some(at) => format!(
            "panicked at {}:{}:{}: {message}",
            at.file(),
            at.line(),
            at.column()
        ),
        None => format!("panicked: {message}"),
    }
}

/// Installs the hook once per thread; later calls only replace the reporter.
pub fn install(reporter: Option<Reporter>) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let text = describe(info);
            let reported = REPORTER.with(|r| match r.try_borrow() {
                Ok(r) => r.as_ref().map(|report| report(&text)).is_some(),
                Err(_) => false,
            });
            if !reported {
                console_error(&text);
            }
        }))
    });
    if reporter.is_some() {
        REPORTER.with(|r| *r.borrow_mut() = reporter);
    }
}

#[cfg(target_arch = "wasm32")]
fn console_error(text: &str) {
    web_sys::console::error_1(&text.into());
}

#[cfg(not(target_arch = "wasm32"))]
fn console_error(text: &str) {
    eprintln!("{text}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn the_reporter_gets_the_message_and_location() {
        let got: Rc<RefCell<Vec<String>>> = Rc::default();
        let sink = got.clone();
        install(Some(Box::new(move |text| {
            sink.borrow_mut().push(text.into())
        })));
        let caught = std::panic::catch_unwind(|| panic!("chunk size must be {}", "non-zero"));
        assert!(caught.is_err());
        let got = got.borrow();
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with("panicked at crates/worker/src/panic.rs:"),
            "{}",
            got[0]
        );
        assert!(
            got[0].ends_with(": chunk size must be non-zero"),
            "{}",
            got[0]
        );
    }
}
