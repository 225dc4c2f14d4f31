// The docs' scheduler and search_alg tables (docs/spec.md) against the registries in
// make_scheduler.cc and make_searcher.cc: every name and key the code knows is documented,
// nothing is documented that does not exist, and a documented scheduler default is the real one.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/files.h"
#include "tune/scheduler.h"
#include "tune/searchers.h"

namespace tune {
namespace {

const std::string kSpecDoc = std::string(TUNE_SOURCE_DIR) + "/docs/spec.md";

// The text from `heading` (a whole line) to the next heading of its level or above.
std::string section(const std::string& doc, const std::string& heading) {
  const size_t start = doc.find("\n" + heading + "\n");
  if (start == std::string::npos) return {};
  size_t end = doc.find("\n### ", start + 1);
  end = std::min(end, doc.find("\n## ", start + 1));
  return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The cells of each table row whose first cell starts with a backtick.
std::vector<std::vector<std::string>> rows(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    size_t cell = 2;
    while (cell < line.size()) {
      const size_t bar = line.find(" |", cell);
      if (bar == std::string::npos) break;
      cells.push_back(line.substr(cell, bar - cell));
      cell = bar + 3;
    }
    out.push_back(cells);
  }
  return out;
}

// "`a`, `b`" -> {a, b}: every backticked word.
std::vector<std::string> ticked(const std::string& cell) {
  std::vector<std::string> out;
  for (size_t open = cell.find('`'); open != std::string::npos; open = cell.find('`', open)) {
    const size_t close = cell.find('`', open + 1);
    if (close == std::string::npos) break;
    out.push_back(cell.substr(open + 1, close - open - 1));
    open = close + 1;
  }
  return out;
}

// "`k` (d), `j`, `m` (x, y)" -> {k: "d", j: "", m: "x, y"}; "none" -> {}. Commas inside
// parentheses do not separate keys.
std::map<std::string, std::string> keys_of(const std::string& cell) {
  std::map<std::string, std::string> out;
  if (cell == "none") return out;
  std::vector<std::string> pieces(1);
  int depth = 0;
  for (char c : cell) {
    depth += c == '(' ? 1 : (c == ')' ? -1 : 0);
    if (c == ',' && depth == 0) {
      pieces.emplace_back();
    } else {
      pieces.back() += c;
    }
  }
  for (std::string piece : pieces) {
    piece.erase(0, piece.find_first_not_of(' '));
    EXPECT_TRUE(piece.starts_with("`")) << "a key cell entry that is not a `key`: " << piece;
    const size_t close = piece.find('`', 1);
    if (close == std::string::npos) continue;
    const std::string key = piece.substr(1, close - 1);
    std::string rest = piece.substr(close + 1);
    const size_t open = rest.find('(');
    const size_t end = rest.rfind(')');
    out[key] = open == std::string::npos || end == std::string::npos ? "" : rest.substr(open + 1, end - open - 1);
  }
  return out;
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::set<std::string> key_set(const std::map<std::string, std::string>& keys) {
  std::set<std::string> out;
  for (const auto& [key, ignored] : keys) out.insert(key);
  return out;
}

// How the docs write a default: `text` for strings, the number or true/false otherwise.
std::string rendered(const Json& value) {
  if (value.is_string()) return "`" + value.get<std::string>() + "`";
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer()) return value.dump();
  return fmt::format("{}", value.get<double>());
}

// A plugin table's type -> its documented keys (with the text in parentheses after each);
// checks that every type it names is registered (`names`) and every registered type is there.
std::map<std::string, std::map<std::string, std::string>> documented_types(const std::string& text,
                                                                           const std::string& what,
                                                                           const std::vector<std::string>& names) {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& row : rows(text)) {
    if (row.size() < 3) {
      ADD_FAILURE() << "a " << what << " table row with " << row.size() << " cells";
      continue;
    }
    for (const std::string& name : ticked(row[0])) out[name] = keys_of(row[1]);
  }
  std::set<std::string> documented;
  for (const auto& [name, ignored] : out) documented.insert(name);
  EXPECT_EQ(documented, as_set(names)) << "the " << what << " types documented in docs/spec.md vs the registry";
  return out;
}

TEST(PluginDocsTest, TheSchedulerTableListsEveryRegisteredSchedulerWithItsKeysAndDefaults) {
  const std::string doc = testing::read_text(kSpecDoc);
  const std::vector<std::string> names = scheduler_names();
  for (const auto& [name, keys] : documented_types(section(doc, "### `scheduler`"), "scheduler", names)) {
    if (std::find(names.begin(), names.end(), name) == names.end()) continue;  // reported above
    EXPECT_EQ(key_set(keys), as_set(scheduler_keys(name))) << "the keys of scheduler '" << name << "'";
    const Json defaults = scheduler_defaults(name);
    for (const auto& [key, text] : keys) {
      if (defaults.contains(key)) {
        EXPECT_EQ(text, rendered(defaults[key])) << "the documented default of " << name << "." << key;
      } else {
        EXPECT_TRUE(text.empty() || text.starts_with("required"))
            << name << "." << key << " has no default, but the docs give one: " << text;
      }
    }
  }
}

TEST(PluginDocsTest, TheSearchAlgTableListsEveryRegisteredSearcherWithItsKeys) {
  const std::string doc = testing::read_text(kSpecDoc);
  const std::string text = section(doc, "### `search_alg`");
  const std::vector<std::string> names = searcher_names();
  for (const auto& [name, keys] : documented_types(text, "search_alg", names)) {
    if (std::find(names.begin(), names.end(), name) == names.end()) continue;  // reported above
    EXPECT_EQ(key_set(keys), as_set(searcher_keys(name))) << "the keys of search_alg '" << name << "'";
  }
  // The keys every type takes are in the section's example.
  for (const std::string& key : searcher_common_keys()) {
    EXPECT_NE(text.find("  " + key + ":"), std::string::npos) << "common search_alg key '" << key << "'";
  }
}

TEST(PluginDocsTest, TheTopLevelKeysAndTheNotSupportedTableNameWhatTheRegistriesKnow) {
  const std::string doc = testing::read_text(kSpecDoc);
  std::map<std::string, std::vector<std::string>> keys_row;
  for (const auto& row : rows(section(doc, "## Keys"))) {
    // "a name or `{type: NAME, ...}`: `fifo`, `asha`/`async_hyperband`, ... (keys below)"
    const size_t names = row[1].find("}`: ");
    if (names == std::string::npos) continue;
    keys_row[ticked(row[0]).front()] = ticked(row[1].substr(names + 4, row[1].find(" (", names) - names - 4));
  }
  for (const auto& [key, names] : {std::pair{std::string("scheduler"), scheduler_names()},
                                   std::pair{std::string("search_alg"), searcher_names()}}) {
    // "`fifo`, `asha`/`async_hyperband`, ...": every registered name and nothing else.
    EXPECT_EQ(as_set(keys_row[key]), as_set(names)) << "the Keys table's row '" << key << "'";
  }

  std::map<std::string, std::string> refused;
  for (const auto& row : rows(section(doc, "### Not supported yet"))) refused[ticked(row[0]).front()] = row[1];
  const auto refused_names = [](const std::string& cell) {
    const size_t at = cell.find("known but refused:");
    return at == std::string::npos ? std::vector<std::string>() : ticked(cell.substr(at, cell.find(';', at) - at));
  };
  EXPECT_EQ(as_set(refused_names(refused["scheduler"])), as_set(unsupported_scheduler_names()));
  EXPECT_EQ(as_set(refused_names(refused["search_alg"])), as_set(unsupported_searcher_names()));
  const std::string accepted = refused["search_alg"].substr(0, refused["search_alg"].find('('));
  EXPECT_EQ(as_set(ticked(accepted)), as_set(searcher_names()));
}

}  // namespace
}  // namespace tune
