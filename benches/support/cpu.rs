//! CPU time of this process, of its waited-for children and of other processes, from `/proc/*/stat`,
//! to put a CPU cost on each request a benchmark sends or serves.

/// CPU seconds used so far by this process and by its waited-for children (utime + stime and
/// cutime + cstime of /proc/self/stat), to put a CPU cost on each request.
pub fn cpu_seconds() -> (f64, f64) {
    let fields = stat_fields("/proc/self/stat");
    let tick = 100.0;
    let get = |i: usize| fields.get(i).copied().unwrap_or(0.0) / tick;
    (get(11) + get(12), get(13) + get(14))
}

/// CPU seconds (utime + stime) of the process whose stat file is `path`.
#[allow(dead_code)] // not every benchmark measures another process
pub fn process_cpu_seconds(path: &str) -> f64 {
    let fields = stat_fields(path);
    (fields.get(11).copied().unwrap_or(0.0) + fields.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn stat_fields(path: &str) -> Vec<f64> {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let fields: Vec<f64> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // After ")": state is field 0, so utime (field 14 of the file) is index 11.
    fields
}
