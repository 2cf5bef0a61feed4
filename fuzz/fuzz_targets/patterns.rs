//! GOPROXY lists and GOPRIVATE/GONOSUMDB pattern lists, and matching
//! module paths against them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modvault_core::pattern::{match_prefix_patterns, parse_pattern_list};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (list, target) = text.split_once('\n').unwrap_or((text, "example.com/m"));
    let _ = modvault_upstream::parse_proxy_list(list);
    if parse_pattern_list(list).is_ok() {
        let _ = match_prefix_patterns(list, target);
    }
});
