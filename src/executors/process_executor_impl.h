// Internal: the process executor's class (process_executor.h), declared here so that its three
// parts live in files of their own: the executor's loop (process_executor.cc: start, step,
// save, stop, the poll over every child), the zygote client (zygote_client.cc: fork servers
// started, asked to fork, heard of) and the reading of what children write (child_output.cc:
// worker replies through worker_messages.h, plain result lines, stdout/stderr, exits).
// Everything runs on the runner's thread, inside poll() and the Executor calls.
#pragma once

#include <poll.h>

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "executors/process_child.h"
#include "executors/process_executor.h"

namespace tune::detail::proc {

class ProcessExecutor final : public Executor {
 public:
  // Makes the driver a child subreaper (common/process_tree.h), so that what a trial leaves
  // behind when it ends re-parents here and is found.
  ProcessExecutor(Sink sink, std::shared_ptr<ChildLauncher> launcher);
  ~ProcessExecutor() override;

  void start(StartRequest request) override;
  void continue_trial(int64_t key) override;
  void save_trial(int64_t key, const std::filesystem::path& dir) override;
  void stop_trial(int64_t key) override;
  void poll(std::chrono::milliseconds timeout) override;

 private:
  // An event for the runner, handed over at the end of poll() unless the trial was stopped or
  // restarted meanwhile (its serial says which process it came from).
  struct Delivery {
    int64_t key;
    uint64_t serial;
    ExecutorEvent event;
  };
  using Deliveries = std::vector<Delivery>;
  using ZygoteKey = std::pair<const ProcessSpec*, std::string>;
  static constexpr const char* kStepLine = "{\"type\":\"step\"}\n";

  // ---- the loop (process_executor.cc) ----
  // Starts the child: forked by its zygote, or exec'd; or queued until its zygote is ready.
  void launch(Child& child, std::unique_ptr<StartRequest> request, Deliveries& deliveries);
  // The process runs (or its fork is asked for): setup and the first step go to it.
  void launched(Child& child, const StartRequest& request);
  Child* owned(int64_t key);
  Child* by_serial(uint64_t serial);
  static std::filesystem::path checkpoint_dir_of(const TrialInfo& info);
  void arm_step_timeout(Child& child);
  // Where the child runs: checked here, so a missing directory is the trial's clear error.
  static std::filesystem::path working_dir_of(const ProcessSpec& spec, const StartRequest& request);
  void spawn(Child& child, const StartRequest& request);
  void send(Child& child, std::string_view data);
  void flush_unsent(Child& child);
  // No more requests: the child reads end-of-file after what is queued (a client blocked on
  // its request pipe wakes up and ends).
  void close_requests(Child& child);
  // A child still waiting for its zygote never runs: nothing to stop or wait for.
  static bool abandon_unstarted(Child& child);
  void ask_to_stop(Child& child);
  void kill_group(Child& child);
  // True when the process has exited (and is now reaped).
  bool try_reap(Child& child);
  void wait_and_read(std::chrono::milliseconds timeout, Deliveries& deliveries);
  void on_exit_signalled(Child& child, Deliveries& deliveries);
  void check_deadlines(Deliveries& deliveries);
  // Backpressure: a child that could not start for want of descriptors or processes (EMFILE,
  // ENFILE, EAGAIN, ENOMEM) waits and is tried again after kRetryDelayS or when another child
  // ends; its trial never fails for it, unless nothing else runs for kHoldBackLimitS.
  static bool is_exhaustion(int error);
  void hold_back(Child& child, std::unique_ptr<StartRequest> request, int error, Deliveries& deliveries);
  void retry_held_back(Deliveries& deliveries);
  // What the ended child left: its group's orphans, and adopted processes holding its token.
  void end_leftovers(const Child& child);

  // ---- the zygote client (zygote_client.cc) ----
  // The zygote that is to fork this trial, started if need be; null: exec it.
  std::shared_ptr<Zygote> zygote_for(const Child& child, const StartRequest& request);
  std::shared_ptr<Zygote> start_zygote(const ProcessSpec& spec, const std::string& omp);
  // Asks `z` to fork the child: false when the request is too big for it (exec it instead).
  bool fork_from(Zygote& z, Child& child, const StartRequest& request);
  void send_to_zygote(Zygote& z, Zygote::Outgoing out);
  void flush_zygote(Zygote& z);
  // Everything the zygote says, its exit included.
  void serve_zygote(Zygote& z, Deliveries& deliveries);
  static bool is_hello(std::string_view message);
  void start_waiting(Zygote& z, Deliveries& deliveries);
  void on_zygote_message(Zygote& z, std::string_view message, Deliveries& deliveries);
  // The zygote is gone (or given up): trials waiting for it start otherwise; the ones it forked,
  // whose exit it can no longer tell, are killed and fail.
  void zygote_died(Zygote& z, Deliveries& deliveries, const std::string& why);
  // True when the zygote's process is reaped; `wait`: block for it.
  static bool reap_zygote(Zygote& z, bool wait);

  // ---- what children write, and their exits (child_output.cc) ----
  // The process is gone: read what it left in the pipes, then decide what its exit means.
  void on_exited(Child& child, Deliveries& deliveries);
  ExecutorEvent exit_event(const Child& child, const std::string& when);
  // Reads what is available; `to_end`: the process exited, take everything still buffered.
  void read_reply(Child& child, Deliveries& deliveries, bool to_end);
  void read_output(Child& child, UniqueFd& fd, LineBuffer& buffer, UniqueFd& log, bool is_err, bool to_end);
  static void echo(const Child& child, std::string_view line, bool is_err);
  // A failure the trial is to blame for: reported now (or when the runner is done deciding),
  // and the process is killed.
  void protocol_failure(Child& child, const std::string& problem, Deliveries& deliveries);
  static std::filesystem::path take_named_checkpoint(Child& child, const std::string& name, std::string& why);
  void fail(Child& child, ExecutorEvent event, Deliveries& deliveries);
  void worker_line(Child& child, std::string_view line, Deliveries& deliveries);
  void trainable_error(Child& child, std::string text, Deliveries& deliveries);
  // A step's result: auto-filled and handed to the runner; the child waits for the decision.
  void accept_result(Child& child, Result result, Deliveries& deliveries);
  void plain_line(Child& child, std::string_view line, Deliveries& deliveries);
  void plain_failure(Child& child, std::string problem, Deliveries& deliveries);
  void too_long_result(Child& child, std::string_view start, Deliveries& deliveries);
  // A plain line without its newline yet but already too long: a result that is too big is a
  // failure; a log line is kept in stdout.log (written already) and skipped up to its end.
  void check_long_plain_line(Child& child, Deliveries& deliveries);
  // Plain: hands over the next buffered result when the runner asked for one, or the end.
  void advance_plain(Child& child, Deliveries& deliveries);

  Sink sink_;
  std::shared_ptr<ChildLauncher> launcher_;  // null: children are started directly
  std::vector<std::unique_ptr<Child>> children_;  // every child not yet reaped (and the current ones)
  std::unordered_map<int64_t, Child*> by_key_;    // the current process of each running trial
  Deliveries queued_;                             // events produced outside poll()
  Deliveries spare_deliveries_;                   // poll()'s, kept for its capacity
  std::vector<uint64_t> wake_;                    // plain children to look at again
  uint64_t next_serial_ = 0;
  std::vector<std::shared_ptr<Zygote>> zygotes_;             // every zygote process not yet reaped
  std::map<ZygoteKey, std::shared_ptr<Zygote>> zygote_for_;  // the current one of each key
  std::map<const ProcessSpec*, int> zygote_losses_;          // zygotes that died serving
  std::set<ZygoteKey> exec_only_;                            // keys whose zygote could not start
  std::vector<pollfd> pollfds_;
  struct WatchEntry {
    Child* child;
    int which;
    Zygote* zygote = nullptr;
  };
  std::vector<WatchEntry> watches_;
  std::deque<uint64_t> held_back_;         // children waiting to start (serials), oldest first
  Clock::time_point retry_at_ = kNever;    // when they are tried again
  std::deque<pid_t> recent_groups_;        // process groups of trials that ended lately (bounded)
  std::set<std::string> token_prefixes_;   // the experiments whose trials ran here
  static constexpr double kRetryDelayS = 0.05;
  static constexpr double kHoldBackLimitS = 60;
  static constexpr size_t kRecentGroups = 1024;
};

}  // namespace tune::detail::proc
