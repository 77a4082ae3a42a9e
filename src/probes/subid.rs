//! Area `subid` (to be filled in).

use super::Findings;
use crate::host::Host;
use crate::model::Spec;

#[derive(Debug, Default, Clone)]
pub struct Facts {}

pub const SPECS: &[Spec] = &[];

pub fn probe(_host: &Host, _found: &mut Findings) {}
