// An external searcher's reply line, bounded and checked (see external_reply.h).
#include "searchers/external_reply.h"

#include <fmt/format.h>

#include "common/untrusted_json.h"
#include "tune/error.h"

namespace tune::detail {

Json read_searcher_reply(std::string_view line, const std::string& program) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto refuse = [&](const std::string& why) {
    return TuneError(fmt::format("search_alg external: '{}' answered a line that {}: {}", program, why,
                                 quoted_excerpt(line)));
  };
  if (line.size() > kMaxSearcherReplyBytes) {
    throw refuse(fmt::format("is {} bytes, longer than the limit of {} bytes", line.size(), kMaxSearcherReplyBytes));
  }
  ParsedJson parsed = parse_untrusted_json(line, /*nonfinite=*/false);
  if (!parsed.error.empty()) throw refuse("is " + parsed.error);
  if (!parsed.value.is_object()) throw refuse("is not a JSON object");
  if (const auto it = parsed.value.find("error"); it != parsed.value.end()) {
    throw TuneError(fmt::format("search_alg external: '{}' reported an error: {}", program,
                                quoted_excerpt(it->is_string() ? it->get<std::string>() : it->dump(), 1000)));
  }
  return std::move(parsed.value);
}

}  // namespace tune::detail
