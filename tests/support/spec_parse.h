// Test support: parsing a spec text named "spec.yaml" (tune/spec.h), and the SpecError a spec
// raises, for the tests of spec files and their limits.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tune/spec.h"

namespace tune::testing {

inline RunSpec parse_spec(const std::string& text, std::vector<std::string> overrides = {}) {
  SpecSource source;
  source.name = "spec.yaml";
  source.overrides = std::move(overrides);
  return parse_run_spec(text, source);
}

// The error a spec raises; fails the test when it parses.
inline SpecError spec_error_of(const std::string& text, std::vector<std::string> overrides = {}) {
  try {
    parse_spec(text, std::move(overrides));
  } catch (const SpecError& error) {
    return error;
  }
  ADD_FAILURE() << "the spec was accepted:\n" << text;
  return SpecError("", "", -1, "");
}

}  // namespace tune::testing
