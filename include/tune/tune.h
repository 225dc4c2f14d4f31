// tune/tune.h — the umbrella header: everything a user of tune needs.
#pragma once

#include "tune/analysis.h"
#include "tune/callback.h"
#include "tune/error.h"
#include "tune/json.h"
#include "tune/object_store.h"
#include "tune/process.h"
#include "tune/resources.h"
#include "tune/run.h"
#include "tune/scheduler.h"
#include "tune/search_space.h"
#include "tune/searcher.h"
#include "tune/spec.h"
#include "tune/stopper.h"
#include "tune/tensorboard.h"
#include "tune/trainable.h"
#include "tune/trial.h"
