// Internal: the scheduler's decisions as the dashboard shows them, from what the experiment's
// files record (the scheduler state of the journal and snapshot, and the journal's records):
//  * ASHA: per bracket and rung, its milestone, the trials recorded there, the cut-off (the
//    rung's quantile as ASHA computes it, over what is recorded now, in metric units) and the
//    trials cut there: TERMINATED with this rung the last they reached, before max_t (a trial
//    that ended on its own between two rungs counts too);
//  * HyperBand: per band and bracket, its size, milestone and the trials it holds, live or not;
//  * PBT: the exploits, oldest first: who copied whom, from the source's checkpoint of which
//    iteration, with the perturbed config (the journal's config records, see pbt() in the .cc).
// Lists are bounded (kMaxListed trials, kMaxExploitsShown exploits); counts are exact.
// Thread-safety: reentrant; it reads the journal.
#pragma once

#include "tune/json.h"

namespace tune::dashboard {

struct ExperimentView;

// {"type": "asha" | "hyperband" | "pbt", ...}; null when the state holds none of these.
Json scheduler_decisions(const ExperimentView& view);

}  // namespace tune::dashboard
