// tune/error.h — the one exception type the library throws for misuse.
//
// Misuse of the API (an invalid option, an unknown key, a bad spec) throws TuneError
// before anything starts; the message names the field and the broken rule. A failing
// trial is never a TuneError out of run(): it becomes an ERROR trial with error.txt.
// Thread-safety: a value type.
#pragma once

#include <stdexcept>
#include <string>

namespace tune {

class TuneError : public std::runtime_error {
 public:
  explicit TuneError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace tune
