//! A Leptos app (client-side rendering) that runs RemoteMedia's voice pipeline on an
//! audio file in a gloo-worker worker (`remotemedia-web`) and shows the speech segments.
//! Pick a file, drop one, or use the sample recording.
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use remotemedia_web::{Item, RemoteMedia};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The pipeline: decode, resample to 16 kHz, voice activity, levels.
const VOICE: &str = include_str!("../../pipelines/voice.json");

thread_local! {
    /// The app's workers, spawned once: the scripts are the workers' loaders in dist/.
    static RM: Rc<RemoteMedia> = Rc::new(RemoteMedia::spawn("./runner_loader.js", "./sessions_loader.js"));
}

/// One speech segment, in seconds.
#[derive(Clone, Debug, PartialEq)]
struct Segment {
    start: f64,
    end: f64,
}

fn main() {
    mount_to_body(App);
}

/// Milliseconds since navigation started.
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The speech segments in a voice.json result (the VAD's metadata).
fn segments(result: &remotemedia_web::RunResult) -> Vec<Segment> {
    let Some(Item::Audio {
        metadata: Some(metadata),
        ..
    }) = result.outputs_of("vad").next()
    else {
        return Vec::new();
    };
    let metadata: serde_json::Value = serde_json::from_str(metadata).unwrap_or_default();
    metadata["vad"]["segments"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|s| {
                    Some(Segment {
                        start: s["start_s"].as_f64()?,
                        end: s["end_s"].as_f64()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The bytes of a picked or dropped file.
async fn file_bytes(file: web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The bytes at `url` (the sample recording).
async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

#[component]
fn App() -> impl IntoView {
    let (status, set_status) = signal(String::from(
        "Pick or drop an audio file, or use the sample recording.",
    ));
    let (found, set_found) = signal(Vec::<Segment>::new());
    let (first_result_ms, set_first_result_ms) = signal(None::<f64>);

    let run = move |bytes: Result<Vec<u8>, String>, name: String| {
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return set_status.set(format!("Could not read {name}: {e}")),
        };
        set_status.set(format!("Running voice.json on {name} in a worker..."));
        spawn_local(async move {
            let rm = RM.with(Rc::clone);
            let t0 = now_ms();
            match rm.run(VOICE, vec![Item::Binary(bytes)]).await {
                Ok(result) => {
                    let segs = segments(&result);
                    if first_result_ms.get_untracked().is_none() {
                        set_first_result_ms.set(Some(now_ms()));
                    }
                    set_status.set(format!("{name}: {} speech segment(s), {:.0} ms in the worker ({:.0} ms end to end).", segs.len(), result.total_ms, now_ms() - t0));
                    set_found.set(segs);
                }
                Err(e) => set_status.set(format!("{name}: {e}")),
            }
        });
    };

    let on_pick = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            spawn_local(async move { run(file_bytes(file.clone()).await, file.name()) });
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if let Some(file) = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0))
        {
            spawn_local(async move { run(file_bytes(file.clone()).await, file.name()) });
        }
    };
    let on_sample = move |_| {
        spawn_local(async move { run(fetch_bytes("./lena.wav").await, "lena.wav".into()) })
    };

    view! {
        <main>
            <h1>"RemoteMedia in Leptos"</h1>
            <p>"The voice pipeline runs in a gloo-worker worker (Rust compiled to WebAssembly), off the main thread."</p>
            <input type="file" id="file" accept="audio/*,.wav,.mp3,.flac,.ogg" on:change=on_pick />
            <div id="drop" on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=on_drop>
                "or drop an audio file here"
            </div>
            <button id="sample" on:click=on_sample>"Use the sample recording"</button>
            <p id="status">{move || status.get()}</p>
            <ol id="segments">
                {move || found.get().into_iter().map(|s| view! { <li>{format!("{:.2} s - {:.2} s", s.start, s.end)}</li> }).collect_view()}
            </ol>
            <p id="first-result">{move || first_result_ms.get().map(|ms| format!("First result {ms:.0} ms after navigation."))}</p>
        </main>
    }
}
