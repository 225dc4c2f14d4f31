// Helpers shared by the executors.
#include "executors/executor.h"

#include <algorithm>
#include <exception>
#include <memory>

namespace tune::detail {

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

std::unique_ptr<AutoFiller> make_auto_filler(const StartRequest& request) {
  auto filler = std::make_unique<AutoFiller>(request.info, request.config);
  if (!request.info.restore_from.empty()) {
    filler->restore(request.restore_iteration, request.restore_time_total_s, request.restore_timesteps_total,
                    request.restore_episodes_total);
  }
  return filler;
}

void ActorCache::note_live(std::size_t live) {
  std::lock_guard lock(mutex_);
  capacity_ = std::max(capacity_, live);
}

std::unique_ptr<Trainable> ActorCache::put(const TrainableSpec* spec, std::unique_ptr<Trainable> trainable) {
  std::lock_guard lock(mutex_);
  idle_.emplace_back(spec, std::move(trainable));
  if (idle_.size() <= capacity_) return nullptr;
  std::unique_ptr<Trainable> evicted = std::move(idle_.front().second);
  idle_.pop_front();
  return evicted;
}

std::unique_ptr<Trainable> ActorCache::take(const TrainableSpec* spec) {
  std::lock_guard lock(mutex_);
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    if (it->first != spec) continue;
    std::unique_ptr<Trainable> out = std::move(it->second);
    idle_.erase(std::next(it).base());
    return out;
  }
  return nullptr;
}

std::vector<std::unique_ptr<Trainable>> ActorCache::take_all() {
  std::lock_guard lock(mutex_);
  std::vector<std::unique_ptr<Trainable>> out;
  for (auto& [spec, trainable] : idle_) out.push_back(std::move(trainable));
  idle_.clear();
  return out;
}

void cleanup_trainable(std::unique_ptr<Trainable>& trainable) {
  if (!trainable) return;
  try {
    trainable->cleanup();
  } catch (...) {  // the trial already ended; a failing cleanup must not hide its outcome
  }
  trainable.reset();
}

void retire_trainable(ActorCache* cache, const TrainableSpec* spec, std::unique_ptr<Trainable>& trainable) {
  if (cache == nullptr || !trainable) {
    cleanup_trainable(trainable);
    return;
  }
  std::unique_ptr<Trainable> evicted = cache->put(spec, std::move(trainable));
  cleanup_trainable(evicted);
}

std::unique_ptr<Trainable> make_trainable_for(const StartRequest& request, ActorCache* cache) {
  std::unique_ptr<Trainable> trainable = cache != nullptr ? cache->take(request.trainable) : nullptr;
  try {
    if (trainable) {
      trainable->set_trial_info(request.info);
      if (!trainable->reset_config(request.config)) {
        // Not reconfigurable in place (the default): this trial gets a new instance.
        cleanup_trainable(trainable);
      }
    }
    if (!trainable) {
      trainable = request.trainable->factory();
      trainable->set_trial_info(request.info);
      trainable->setup(request.config);
    }
    if (!request.info.restore_from.empty()) trainable->load_checkpoint(request.info.restore_from);
  } catch (...) {
    cleanup_trainable(trainable);
    throw;
  }
  return trainable;
}

std::string function_cannot_save_message() {
  return "this trial cannot be asked to save: function-style trainables checkpoint themselves (write into "
         "checkpoint_dir(), then report should_checkpoint=true); checkpoint_freq, checkpoint_at_end and PAUSE need "
         "the class API (save_checkpoint/load_checkpoint)";
}

}  // namespace tune::detail
