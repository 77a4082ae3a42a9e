//! The fields of `/proc/self/status` the probes use, parsed; pure.

/// The fields of `/proc/self/status` this area uses.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Status {
    pub cap_inh: Option<u64>,
    pub cap_prm: Option<u64>,
    pub cap_eff: Option<u64>,
    pub cap_bnd: Option<u64>,
    pub cap_amb: Option<u64>,
    pub no_new_privs: Option<u64>,
    pub seccomp: Option<u64>,
    pub seccomp_filters: Option<u64>,
    /// `Key: value` lines whose value did not parse, for evidence.
    pub garbage: Vec<String>,
}

/// Parses `/proc/self/status` tolerantly: unknown keys are ignored, a
/// known key with an unreadable value is recorded in `garbage`.
pub fn parse_status(text: &str) -> Status {
    let mut st = Status::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let hex = || u64::from_str_radix(value, 16).ok();
        let dec = || value.parse::<u64>().ok();
        let (slot, parsed) = match key.trim() {
            "CapInh" => (&mut st.cap_inh, hex()),
            "CapPrm" => (&mut st.cap_prm, hex()),
            "CapEff" => (&mut st.cap_eff, hex()),
            "CapBnd" => (&mut st.cap_bnd, hex()),
            "CapAmb" => (&mut st.cap_amb, hex()),
            "NoNewPrivs" => (&mut st.no_new_privs, dec()),
            "Seccomp" => (&mut st.seccomp, dec()),
            "Seccomp_filters" => (&mut st.seccomp_filters, dec()),
            _ => continue,
        };
        match parsed {
            Some(v) => *slot = Some(v),
            None => st.garbage.push(line.trim().to_string()),
        }
    }
    st
}
