//! "Did you mean": the known names closest to a misspelt one, for validation messages
//! (node types, parameter names). Its own module, so parameters and validation both use
//! it without depending on each other.

/// Up to three names from `candidates` closest to `name` (normalised
/// Damerau-Levenshtein similarity from `strsim`, case-insensitive, at least 0.5,
/// or one containing the other). `None` when nothing is close.
pub fn closest(name: &str, candidates: &[&str]) -> Option<Vec<String>> {
    let lower = name.to_ascii_lowercase();
    // Names much longer or shorter cannot score 0.5 unless one contains the other;
    // skipping them, and looking at no more than 1000, keeps this cheap on huge lists.
    let near = |cand: &&&str| {
        let (a, b) = (cand.len(), name.len());
        a.abs_diff(b) <= a.max(b) / 2 + 1 || cand.contains(name) || name.contains(**cand)
    };
    let mut scored: Vec<(f64, &str)> = candidates
        .iter()
        .filter(near)
        .take(1000)
        .map(|&cand| {
            let cl = cand.to_ascii_lowercase();
            let mut score = strsim::normalized_damerau_levenshtein(&lower, &cl);
            if cl.contains(&lower) || lower.contains(&cl) {
                score = score.max(0.75);
            }
            (score, cand)
        })
        .filter(|(score, _)| *score >= 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    let names: Vec<String> = scored.iter().take(3).map(|(_, n)| n.to_string()).collect();
    (!names.is_empty()).then_some(names)
}
