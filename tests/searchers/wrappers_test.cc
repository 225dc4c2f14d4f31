// Tests of ConcurrencyLimiter, Repeater and make_searcher's wrapping, with a scripted searcher.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {
namespace {

// Suggests {"i": n} and records what it is told.
class Recorder : public Searcher {
 public:
  Suggestion suggest(const std::string& trial_id) override {
    asked.push_back(trial_id);
    Suggestion s;
    s.kind = Suggestion::Kind::kConfig;
    s.config = Json{{"i", static_cast<int>(asked.size())}};
    s.tag = std::to_string(asked.size());
    return s;
  }
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override {
    told.push_back({trial_id, result, error});
  }
  Json save() const override { return Json{{"asked", asked.size()}}; }
  void restore(const Json& state) override { restored = state; }
  struct Told {
    std::string id;
    Result result;
    bool error;
  };
  std::vector<std::string> asked;
  std::vector<Told> told;
  Json restored;
};

TEST(ConcurrencyLimiterTest, SaysNotNowAtTheLimitAndResumesAfterACompletion) {
  auto inner = std::make_shared<Recorder>();
  ConcurrencyLimiter limiter(inner, 2);
  EXPECT_EQ(limiter.suggest("a").kind, Suggestion::Kind::kConfig);
  EXPECT_EQ(limiter.suggest("b").kind, Suggestion::Kind::kConfig);
  EXPECT_EQ(limiter.suggest("c").kind, Suggestion::Kind::kNotNow);
  EXPECT_EQ(inner->asked.size(), 2u);  // the searcher is not asked while at the limit
  limiter.on_trial_complete("a", Json{{"loss", 1}}, false);
  ASSERT_EQ(inner->told.size(), 1u);
  EXPECT_EQ(limiter.suggest("c").kind, Suggestion::Kind::kConfig);
  limiter.on_trial_complete("zzz", Json{{"loss", 1}}, false);  // not one of its trials
  EXPECT_EQ(inner->told.size(), 1u);
  EXPECT_EQ(limiter.suggest("d").kind, Suggestion::Kind::kNotNow);
}

TEST(ConcurrencyLimiterTest, BatchHandsCompletionsOnTogether) {
  auto inner = std::make_shared<Recorder>();
  ConcurrencyLimiter limiter(inner, 3, /*batch=*/true);
  for (const char* id : {"a", "b", "c"}) EXPECT_EQ(limiter.suggest(id).kind, Suggestion::Kind::kConfig);
  limiter.on_trial_complete("a", Json{{"loss", 1}}, false);
  limiter.on_trial_complete("b", Json{{"loss", 2}}, true);
  EXPECT_TRUE(inner->told.empty());
  EXPECT_EQ(limiter.suggest("d").kind, Suggestion::Kind::kNotNow);  // the batch is not over
  limiter.on_trial_complete("c", Json{{"loss", 3}}, false);
  ASSERT_EQ(inner->told.size(), 3u);
  EXPECT_TRUE(inner->told[1].error);
  EXPECT_EQ(limiter.suggest("d").kind, Suggestion::Kind::kConfig);
}

TEST(ConcurrencyLimiterTest, SaveRestoreKeepsLiveTrials) {
  auto inner = std::make_shared<Recorder>();
  ConcurrencyLimiter limiter(inner, 1);
  limiter.suggest("a");
  const Json state = limiter.save();
  auto inner2 = std::make_shared<Recorder>();
  ConcurrencyLimiter restored(inner2, 1);
  restored.restore(state);
  EXPECT_EQ(restored.suggest("b").kind, Suggestion::Kind::kNotNow);
  EXPECT_EQ(inner2->restored["asked"], 1);
  EXPECT_THROW(ConcurrencyLimiter(inner, 0), TuneError);
}

TEST(ConcurrencyLimiterTest, LimiterAndRepeaterForwardWhetherTheInnerSearcherCountsItsTrials) {
  auto variants = std::make_shared<BasicVariantGenerator>(Space(Json{{"a", 1}}), 3, uint64_t{1});
  EXPECT_TRUE(variants->counts_trials());
  EXPECT_FALSE(Recorder().counts_trials());  // the interface's default: a model-based searcher
  EXPECT_TRUE(ConcurrencyLimiter(variants, 2).counts_trials());
  EXPECT_TRUE(Repeater(std::make_shared<Repeater>(variants, 2), 2).counts_trials());
  EXPECT_FALSE(ConcurrencyLimiter(std::make_shared<Repeater>(std::make_shared<Recorder>(), 2), 2).counts_trials());
}

// The runner asks a searcher that learns from results only when a trial fits; grid/random search
// may be asked ahead, wrapped or not, so the wrappers must not change the answer.
TEST(ConcurrencyLimiterTest, WrappersForwardWhetherTheInnerSearcherLearnsFromResults) {
  auto variants = std::make_shared<BasicVariantGenerator>(Space(Json{{"a", 1}}), 3, uint64_t{1});
  EXPECT_FALSE(variants->learns_from_results());
  EXPECT_TRUE(Recorder().learns_from_results());  // the interface's default: a model-based searcher
  EXPECT_FALSE(ConcurrencyLimiter(variants, 2).learns_from_results());
  EXPECT_FALSE(Repeater(std::make_shared<ConcurrencyLimiter>(variants, 2), 2).learns_from_results());
  EXPECT_TRUE(ConcurrencyLimiter(std::make_shared<Repeater>(std::make_shared<Recorder>(), 2), 2).learns_from_results());
  EXPECT_TRUE(TPESearcher().learns_from_results());
}

TEST(RepeaterTest, TrialsShareTheConfigAndTheSearcherSeesTheMean) {
  auto inner = std::make_shared<Recorder>();
  Repeater repeater(inner, 3);
  repeater.set_search_properties("loss", "min", Space());
  std::vector<Config> configs;
  for (const char* id : {"a", "b", "c", "d"}) configs.push_back(repeater.suggest(id).config);
  EXPECT_EQ(inner->asked, (std::vector<std::string>{"a", "d"}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(configs[static_cast<size_t>(i)]["i"], 1);
    EXPECT_EQ(configs[static_cast<size_t>(i)]["__trial_index__"], i);
  }
  EXPECT_EQ(configs[3]["i"], 2);
  EXPECT_EQ(configs[3]["__trial_index__"], 0);
  repeater.on_trial_complete("a", Json{{"loss", 1.0}}, false);
  repeater.on_trial_complete("c", Json{{"loss", 4.0}}, false);
  EXPECT_TRUE(inner->told.empty());
  repeater.on_trial_complete("b", Json{{"loss", NAN}}, true);  // failed: left out of the mean
  ASSERT_EQ(inner->told.size(), 1u);
  EXPECT_EQ(inner->told[0].id, "a");
  EXPECT_FALSE(inner->told[0].error);
  EXPECT_DOUBLE_EQ(inner->told[0].result["loss"].get<double>(), 2.5);
}

TEST(RepeaterTest, AllFailedIsAnErrorAndStateRoundTrips) {
  auto inner = std::make_shared<Recorder>();
  Repeater repeater(inner, 2, /*set_index=*/false);
  repeater.set_search_properties("loss", "min", Space());
  EXPECT_FALSE(repeater.suggest("a").config.contains("__trial_index__"));
  repeater.suggest("b");
  repeater.suggest("c");
  const Json state = repeater.save();
  auto inner2 = std::make_shared<Recorder>();
  Repeater restored(inner2, 2, false);
  restored.set_search_properties("loss", "min", Space());
  restored.restore(state);
  EXPECT_EQ(restored.suggest("d").config["i"], 2);  // the open group goes on
  EXPECT_TRUE(inner2->asked.empty());
  restored.on_trial_complete("a", Json(nullptr), true);
  restored.on_trial_complete("b", Json{{"x", 1}}, false);
  ASSERT_EQ(inner2->told.size(), 1u);
  EXPECT_TRUE(inner2->told[0].error);
}

TEST(MakeSearcherTest, BuildsTypesAndWrappersAndNamesBadKeys) {
  EXPECT_EQ(make_searcher("random"), nullptr);
  EXPECT_NE(dynamic_cast<TPESearcher*>(make_searcher("tpe").get()), nullptr);
  auto limited = make_searcher(Json{{"type", "tpe"}, {"max_concurrent", 2}, {"repeat", 3}, {"seed", 4}});
  auto* limiter = dynamic_cast<ConcurrencyLimiter*>(limited.get());
  ASSERT_NE(limiter, nullptr);
  auto* repeater = dynamic_cast<const Repeater*>(&limiter->searcher());
  ASSERT_NE(repeater, nullptr);
  auto* tpe = dynamic_cast<const TPESearcher*>(&repeater->searcher());
  ASSERT_NE(tpe, nullptr);
  EXPECT_EQ(tpe->seed(), 4u);
  SearcherContext context;
  context.seed = 8;
  EXPECT_EQ(dynamic_cast<TPESearcher*>(make_searcher("tpe", context).get())->seed(), 8u);
  const auto names = searcher_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "tpe"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "external"), names.end());

  const auto message = [](const Json& spec) {
    try {
      make_searcher(spec);
    } catch (const TuneError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(Json{{"type", "tpe"}, {"n_startup_trial", 3}}).rfind("search_alg/n_startup_trial: unknown key", 0),
            0u);
  EXPECT_NE(message(Json{{"type", "tpe"}, {"n_startup_trial", 3}}).find("did you mean 'n_startup_trials'"),
            std::string::npos);
  EXPECT_EQ(message(Json{{"type", "tpe"}, {"n_ei_candidates", 0}}), "search_alg/n_ei_candidates: must be >= 1");
  EXPECT_EQ(message(Json{{"type", "tpe"}, {"max_concurrent", 0}}).rfind("search_alg/max_concurrent: must be >= 1", 0),
            0u);
  EXPECT_EQ(message(Json{{"type", "tpe"}, {"batch", true}}), "search_alg/batch: needs max_concurrent (the batch size)");
  EXPECT_NE(message(Json{{"type", "tpx"}}).find("unknown search algorithm 'tpx' (did you mean 'tpe'?)"),
            std::string::npos);
  EXPECT_NE(message(Json{{"type", "external"}}).find("search_alg/command"), std::string::npos);
  EXPECT_NE(message(Json{{"type", "random"}, {"repeat", 2}}).find("search_alg/repeat"), std::string::npos);
}

}  // namespace
}  // namespace tune
