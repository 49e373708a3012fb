//! The batch-run worker: its wasm registers the RemoteMedia runner when it starts.
fn main() {
    remotemedia_web::register_runner();
}
